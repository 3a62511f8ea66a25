// What Barrier.enter and Barrier.wait return, written the way the core specs compare them.

export const accepted = (previousFailedJobId?: number) => ({ accepted: true, previousFailedJobId });
export const rejected = (previousFailedJobId?: number) => ({ accepted: false, previousFailedJobId });
export const waits = (previousFailedJobId?: number) => ({ wait: true, previousFailedJobId });
export const goesOn = (previousFailedJobId?: number) => ({ wait: false, previousFailedJobId });
