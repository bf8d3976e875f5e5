import { describe, expect, it } from 'vitest';
import { LatestQueue, type QueueConsumer } from '../../src/poller/latest-queue.js';

// The iterator behind each subscription; the subscriptions themselves, over graphql-ws and SSE:
// test/subscriptions.test.ts.

interface Window {
  readonly city: string;
  readonly run: number;
}

function queue() {
  let ended = 0;
  const windows = new LatestQueue<Window>(
    (window) => window.city,
    () => {
      ended += 1;
    },
  );
  return { windows, ended: () => ended };
}

describe('LatestQueue', () => {
  it('keeps one item per key for a slow reader: the newest, in the turn of the first', async () => {
    const { windows } = queue();
    windows.push({ city: 'Antwerpen', run: 1 });
    windows.push({ city: 'Gent', run: 1 });
    windows.push({ city: 'Antwerpen', run: 2 });
    windows.push({ city: 'Antwerpen', run: 3 });
    expect(await windows.next()).toEqual({ value: { city: 'Antwerpen', run: 3 }, done: false });
    expect(await windows.next()).toEqual({ value: { city: 'Gent', run: 1 }, done: false });
    expect(windows.waiting).toBe(false);
  });

  it('hands an item to a reader that waits, at once', async () => {
    const { windows } = queue();
    const next = windows.next();
    expect(windows.waiting).toBe(true);
    windows.push({ city: 'Leuven', run: 7 });
    expect(windows.waiting).toBe(false);
    expect(await next).toEqual({ value: { city: 'Leuven', run: 7 }, done: false });
    // Nothing was kept besides: the next item is the next one pushed.
    const after = windows.next();
    windows.push({ city: 'Leuven', run: 8 });
    expect(await after).toEqual({ value: { city: 'Leuven', run: 8 }, done: false });
  });

  it('refuses a second next() while one waits', async () => {
    const { windows } = queue();
    void windows.next();
    await expect(windows.next()).rejects.toThrow('next() called while another consumer waits');
  });

  it('ends on end(): a waiting next() is done, what was not read is dropped, onEnd runs once', async () => {
    const { windows, ended } = queue();
    const waiting = windows.next();
    windows.end();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(ended()).toBe(1);

    const { windows: unread, ended: unreadEnded } = queue();
    unread.push({ city: 'Gent', run: 1 });
    unread.end();
    unread.push({ city: 'Gent', run: 2 });
    expect(await unread.next()).toEqual({ value: undefined, done: true });
    unread.end();
    expect(unreadEnded()).toBe(1);
  });

  it('ends on return() from the reader, once, whoever ends it after', async () => {
    const { windows, ended } = queue();
    windows.push({ city: 'Brussel', run: 1 });
    expect(await windows.return()).toEqual({ value: undefined, done: true });
    windows.end();
    expect(await windows.next()).toEqual({ value: undefined, done: true });
    expect(ended()).toBe(1);
  });

  it('ends on throw(), passing the error on', async () => {
    const { windows, ended } = queue();
    const error = new Error('the transport failed');
    await expect(windows.throw(error)).rejects.toBe(error);
    expect(await windows.next()).toEqual({ value: undefined, done: true });
    expect(ended()).toBe(1);
  });

  it('is its own async iterator: for await reads until it ends', async () => {
    const { windows, ended } = queue();
    windows.push({ city: 'Hasselt', run: 1 });
    const read: Window[] = [];
    const reading = (async () => {
      for await (const window of windows) {
        read.push(window);
        if (window.run === 1) setTimeout(() => windows.push({ city: 'Genk', run: 2 }), 0);
        else setTimeout(() => windows.end(), 0);
      }
    })();
    await reading;
    expect(read).toEqual([
      { city: 'Hasselt', run: 1 },
      { city: 'Genk', run: 2 },
    ]);
    expect(ended()).toBe(1);
  });
});

/**
 * One subscription's queue, taken from as the poller pushes (LatestQueue.consume), the way the
 * graphql-ws adapter takes it: a consumer that takes one item, then waits until it is resumed.
 */

function pushQueue() {
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
    const { q } = pushQueue();
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
    const { q } = pushQueue();
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
    const stopped = pushQueue();
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
    const left = pushQueue();
    const d = consumer(5);
    left.q.consume(d);
    void left.q.return();
    left.q.end();
    expect(d.endings).toEqual([]);
    expect(left.ended).toEqual(['queue']);

    // A queue that had ended before it was consumed.
    const late = pushQueue();
    late.q.end();
    const e = consumer(1);
    late.q.consume(e);
    expect(e.endings).toEqual(['consumer']);
  });

  it('has one consumer: consume() twice, or next() while consumed, is refused', async () => {
    const { q } = pushQueue();
    q.consume(consumer());
    expect(() => q.consume(consumer())).toThrow('the queue already has a consumer');
    await expect(q.next()).rejects.toThrow('next() called while another consumer waits');
  });
});
