import { describe, expect, it } from 'vitest';
import { LatestQueue, type QueueConsumer } from '../src/poller/latest-queue.js';

/**
 * One subscription's queue, taken from as the poller pushes (LatestQueue.consume), the way the
 * graphql-ws adapter takes it: a consumer that takes one item, then waits until it is resumed.
 */

interface Window {
  readonly city: string;
  readonly run: number;
}

function queue() {
  const ended: string[] = [];
  const q = new LatestQueue<Window>(
    (w) => w.city,
    () => ended.push('queue'),
  );
  return { q, ended };
}

/** A consumer that takes `ready` items in a row, then answers false until resumed. */
function consumer(ready = 1) {
  const taken: Window[] = [];
  const endings: string[] = [];
  let left = ready;
  const c: QueueConsumer<Window> & {
    taken: Window[];
    endings: string[];
    again(n?: number): void;
  } = {
    taken,
    endings,
    take(item) {
      taken.push(item);
      left -= 1;
      return left > 0;
    },
    ended: () => void endings.push('consumer'),
    again(n = 1) {
      left = n;
    },
  };
  return c;
}

describe('LatestQueue taken as it is pushed', () => {
  it('hands over what it kept first, then each item while the consumer takes them', () => {
    const { q } = queue();
    q.push({ city: 'Gent', run: 1 });
    q.push({ city: 'Antwerpen', run: 1 });
    const c = consumer(3);
    q.consume(c);
    expect(c.taken).toEqual([
      { city: 'Gent', run: 1 },
      { city: 'Antwerpen', run: 1 },
    ]);
    expect(q.waiting).toBe(true);
    q.push({ city: 'Gent', run: 2 });
    expect(c.taken).toHaveLength(3);
    expect(q.waiting).toBe(false);
  });

  it('keeps the latest item of each key while the consumer takes none, in their first order', () => {
    const { q } = queue();
    const c = consumer(1);
    q.consume(c);
    q.push({ city: 'Gent', run: 1 });
    // Busy: these wait, a newer window replacing an older one of the same city in its place.
    q.push({ city: 'Antwerpen', run: 1 });
    q.push({ city: 'Gent', run: 2 });
    q.push({ city: 'Antwerpen', run: 2 });
    q.push({ city: 'Gent', run: 3 });
    expect(c.taken).toEqual([{ city: 'Gent', run: 1 }]);
    c.again(1);
    q.resume();
    expect(c.taken.at(-1)).toEqual({ city: 'Antwerpen', run: 2 });
    c.again(5);
    q.resume();
    expect(c.taken).toEqual([
      { city: 'Gent', run: 1 },
      { city: 'Antwerpen', run: 2 },
      { city: 'Gent', run: 3 },
    ]);
    // Nothing kept any more: the next one goes straight through.
    q.push({ city: 'Leuven', run: 3 });
    expect(c.taken.at(-1)).toEqual({ city: 'Leuven', run: 3 });
  });

  it('tells the consumer when it ends on its own, and only then; drops what it kept', () => {
    const stopped = queue();
    const c = consumer(1);
    stopped.q.consume(c);
    stopped.q.push({ city: 'Gent', run: 1 });
    stopped.q.push({ city: 'Antwerpen', run: 1 });
    stopped.q.end();
    stopped.q.end();
    expect(c.endings).toEqual(['consumer']);
    expect(stopped.ended).toEqual(['queue']);
    c.again(5);
    stopped.q.resume();
    stopped.q.push({ city: 'Leuven', run: 2 });
    expect(c.taken).toEqual([{ city: 'Gent', run: 1 }]);

    // Ended by its consumer (the client went away): the consumer hears nothing more.
    const left = queue();
    const d = consumer(5);
    left.q.consume(d);
    void left.q.return();
    left.q.end();
    expect(d.endings).toEqual([]);
    expect(left.ended).toEqual(['queue']);

    // A queue that had ended before it was consumed.
    const late = queue();
    late.q.end();
    const e = consumer(1);
    late.q.consume(e);
    expect(e.endings).toEqual(['consumer']);
  });

  it('has one consumer: consume() twice, or next() while consumed, is refused', async () => {
    const { q } = queue();
    q.consume(consumer());
    expect(() => q.consume(consumer())).toThrow('the queue already has a consumer');
    await expect(q.next()).rejects.toThrow('next() called while another consumer waits');
  });
});
