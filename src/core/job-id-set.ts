/**
 * A set of job ids that keeps its first id inline and makes a `Set` only
 * when a second id arrives: most keys run one job at a time, and a `Set`
 * per record made `keyThreshold` eight times slower.
 */
export class JobIdSet {
  /** The only id while `many` is null and `inline` is true. */
  private one = 0;
  private inline = false;
  private many: Set<number> | null = null;

  get size(): number {
    return this.many !== null ? this.many.size : this.inline ? 1 : 0;
  }

  has(id: number): boolean {
    return this.many !== null ? this.many.has(id) : this.inline && this.one === id;
  }

  add(id: number): void {
    if (this.many !== null) {
      this.many.add(id);
    } else if (!this.inline) {
      this.one = id;
      this.inline = true;
    } else if (this.one !== id) {
      this.many = new Set([this.one, id]);
      this.inline = false;
    }
  }

  delete(id: number): void {
    this.leave(id);
  }

  /** Deletes `id` and returns how many ids are left; none left, it is a cleared set. */
  leave(id: number): number {
    const many = this.many;
    if (many === null) {
      if (this.one === id) this.inline = false;
      return this.inline === true ? 1 : 0; // `=== true`: see KeyRecord.leaveRunning
    }
    many.delete(id);
    if (many.size !== 0) return many.size;
    this.many = null;
    return 0;
  }

  /** Makes this the set of `id` alone. */
  reset(id: number): void {
    this.one = id;
    this.inline = true;
    this.many = null;
  }

  clear(): void {
    this.inline = false;
    this.many = null;
  }

  /** The ids in ascending order. */
  toArray(): number[] {
    const ids = this.many !== null ? [...this.many] : this.inline ? [this.one] : [];
    return ids.sort((a, b) => a - b);
  }

  static of(ids: Iterable<number>): JobIdSet {
    const set = new JobIdSet();
    for (const id of ids) set.add(id);
    return set;
  }
}
