/**
 * The one floor search of the storage layer (index entries, segment base
 * offsets): the last position in a non-decreasing run of keys whose key is at
 * or below a target.
 *
 * @module
 */

/**
 * The largest `i` in `[fromIndex, toIndex)` with `keyAt(i) <= target`, or `fromIndex - 1` when
 * there is none. Keys must not decrease over the range.
 */
export function floorSearch(
  fromIndex: number,
  toIndex: number,
  target: number,
  keyAt: (i: number) => number,
): number {
  let low = fromIndex;
  let high = toIndex - 1;
  let found = fromIndex - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (keyAt(middle) <= target) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
