import { describe, expect, it } from 'vitest';
import { LatestQueue } from '../../src/poller/latest-queue.js';

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
    await expect(windows.next()).rejects.toThrow('next() called while a next() waits');
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
