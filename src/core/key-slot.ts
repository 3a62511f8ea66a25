/** Slots a key maps to (see {@link slotOf}); a power of two. */
export const KEY_SLOTS = 4096;

/**
 * A key's slot in `[0, KEY_SLOTS)`, from its length and last two characters:
 * no hashing of the whole key (V8's own string hash is not reachable from
 * JavaScript). Two characters, not one, so that ids of one length ending in
 * a hex digit (UUIDs) spread over hundreds of slots rather than 16. Bitwise
 * operators read the NaN of a missing character as 0.
 */
export function slotOf(key: string): number {
  const n = key.length;
  return ((key.charCodeAt(n - 1) | 0) + (key.charCodeAt(n - 2) | 0) * 37 + n * 1031) & (KEY_SLOTS - 1);
}
