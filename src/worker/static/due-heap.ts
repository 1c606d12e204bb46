/** An item due at `dueAtMs`; `ticket` lets its owner make an item stale without removing it. */
export interface DueItem<T> {
  dueAtMs: number;
  ticket: number;
  value: T;
}

/** A binary min-heap of items by due time (ties in insertion order). */
export class DueHeap<T> {
  private readonly items: Array<DueItem<T> & { order: number }> = [];
  private order = 0;

  get size(): number {
    return this.items.length;
  }

  push(item: DueItem<T>): void {
    const items = this.items;
    items.push({ ...item, order: this.order++ });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  peek(): DueItem<T> | undefined {
    return this.items[0];
  }

  pop(): DueItem<T> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && before(items[l]!, items[m]!)) m = l;
      if (r < items.length && before(items[r]!, items[m]!)) m = r;
      if (m === i) break;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

function before(a: { dueAtMs: number; order: number }, b: { dueAtMs: number; order: number }): boolean {
  return a.dueAtMs < b.dueAtMs || (a.dueAtMs === b.dueAtMs && a.order < b.order);
}
