/** A binary min-heap ordered by a numeric key: the memory store's session expiry schedule. */
export interface MinHeap<T> {
  readonly size: number;
  push(key: number, value: T): void;
  /** The smallest key and its value, without removing it. */
  peek(): { key: number; value: T } | undefined;
  pop(): { key: number; value: T } | undefined;
}

export function createMinHeap<T>(): MinHeap<T> {
  const items: { key: number; value: T }[] = [];

  function swap(i: number, j: number): void {
    const a = items[i] as { key: number; value: T };
    items[i] = items[j] as { key: number; value: T };
    items[j] = a;
  }
  const keyAt = (i: number) => (items[i] as { key: number }).key;

  return {
    get size() {
      return items.length;
    },
    push(key, value) {
      items.push({ key, value });
      for (let i = items.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (keyAt(parent) <= keyAt(i)) break;
        swap(i, parent);
        i = parent;
      }
    },
    peek: () => items[0],
    pop() {
      const top = items[0];
      const last = items.pop();
      if (top === undefined || last === undefined || items.length === 0) return top;
      items[0] = last;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && keyAt(left) < keyAt(smallest)) smallest = left;
        if (right < items.length && keyAt(right) < keyAt(smallest)) smallest = right;
        if (smallest === i) break;
        swap(i, smallest);
        i = smallest;
      }
      return top;
    },
  };
}
