import type { Entrance } from './entrance.js';

/** What a closed entrance left in flight. */
interface Left {
  /** Untracked jobs: no key or id is known of them. */
  anonymous: number;
  /** Tracked jobs, by key and id. */
  tracked: { key: string; id: number }[];
}

/**
 * Ownership of jobs whose pipeline has closed (orphans). An entrance that
 * closes leaves its admitted jobs in flight: an executor in another pipeline
 * may still report them (`barrierEnter` → Subject → `delay` → executor).
 * Their outcomes belong to no entrance: they complete none, and an entrance
 * opened later is never credited with them. An orphan is forgotten when its
 * outcome comes, or when the executor that held it is known to be gone
 * (`orderedDelivery` tears its executor down with its entrance).
 *
 * Untracked orphans have no key or id: while any is outstanding, the store
 * admits every job tracked, so that an outcome is never taken for another's.
 */
export class Orphans<T> {
  /** Untracked orphans outstanding, of every closed entrance. */
  private anonymous = 0;
  /** Tracked orphans outstanding, by key. */
  private readonly byKey = new Map<string, number[]>();
  private readonly byEntrance = new Map<Entrance<T>, Left>();

  /** Whether an untracked orphan may still report: the untracked path is off meanwhile. */
  get anonymousOutstanding(): boolean {
    return this.anonymous > 0;
  }

  /**
   * Whether a job of a closed entrance with this key and id may still report.
   * The same job read again must then get a ticket of its own: as an untracked
   * job, its outcome would be taken for the orphan's.
   */
  has(key: string, id: number): boolean {
    return this.byKey.size > 0 && this.byKey.get(key)?.includes(id) === true;
  }

  /** `entrance` closed leaving `anonymous` untracked jobs and `tracked` ones in flight. */
  adopt(entrance: Entrance<T>, anonymous: number, tracked: { key: string; id: number }[]): void {
    if (anonymous === 0 && tracked.length === 0) return;
    this.anonymous += anonymous;
    for (const { key, id } of tracked) {
      const ids = this.byKey.get(key);
      if (ids === undefined) this.byKey.set(key, [id]);
      else ids.push(id);
    }
    this.byEntrance.set(entrance, { anonymous, tracked });
  }

  /** An orphan's outcome came: it is forgotten (a tracked one by key and id, else an untracked one). */
  forget(key: string, id: number): void {
    if (this.removeTracked(key, id)) {
      for (const left of this.byEntrance.values()) {
        const at = left.tracked.findIndex((orphan) => orphan.key === key && orphan.id === id);
        if (at >= 0) {
          left.tracked.splice(at, 1);
          break;
        }
      }
      return;
    }
    if (this.anonymous === 0) return;
    this.anonymous--;
    // Which entrance it came from is unknown: counted off the first that has
    // one, so `release` errs on keeping orphans, never on crediting one.
    for (const left of this.byEntrance.values()) {
      if (left.anonymous > 0) {
        left.anonymous--;
        break;
      }
    }
  }

  /** The executor that held `entrance`'s jobs is gone: none of its orphans will report. */
  release(entrance: Entrance<T>): void {
    const left = this.byEntrance.get(entrance);
    if (left === undefined) return;
    this.byEntrance.delete(entrance);
    this.anonymous -= left.anonymous;
    for (const { key, id } of left.tracked) this.removeTracked(key, id);
  }

  private removeTracked(key: string, id: number): boolean {
    const ids = this.byKey.get(key);
    const at = ids === undefined ? -1 : ids.indexOf(id);
    if (at < 0) return false;
    ids!.splice(at, 1);
    if (ids!.length === 0) this.byKey.delete(key);
    return true;
  }
}
