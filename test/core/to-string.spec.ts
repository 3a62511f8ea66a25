// Barrier: what String(barrier) shows.
import { describe, expect, it } from 'vitest';
import { Barrier } from '../../src/index.js';

describe('Barrier toString', () => {
  it('names the metadata, the pending count and each key with its mode, failed job and running jobs', () => {
    let now = 0;
    const barrier = new Barrier({
      metadata: { router: 'eu', shard: 2 },
      keyThreshold: 2,
      concurrencyLimit: 1,
      now: () => now,
    });
    barrier.stateChanged('plain', 3, 'failed');
    barrier.enter('running', 4);
    barrier.enter('running', 5);
    barrier.stateChanged('running', 4, 'failed');
    now = 77;
    barrier.enter('hot', 1);
    barrier.enter('hot', 2);
    barrier.enter('hot', 3);
    barrier.stateChanged('drain', 8, 'failed');
    barrier.stateChanged('drain', 8, 'aborted');
    barrier.sync();
    barrier.enter('drain', 9);
    barrier.stateChanged('plain', 3, 'waiting');
    barrier.enter('quote"d', 1);

    const text = barrier.toString();
    expect(text).toContain('router=eu');
    expect(text).toContain('shard=2');
    expect(text).toContain('5 keys');
    expect(text).toContain('1 pending');
    expect(text).toContain('"plain" failed job 3');
    expect(text).toContain('"running" failed job 4 running [5]');
    expect(text).toContain('"hot" disabled since 77');
    expect(text).toContain('"drain" draining [9]');
    expect(text).toContain('"quote\\"d" running [1]');
  });

  it('says when the barrier is empty, and names metadata only when there is some', () => {
    const plain = new Barrier().toString();
    expect(plain).toContain('0 keys');
    expect(plain).toContain('0 pending');
    expect(plain).not.toContain('{');
    expect(String(new Barrier({ metadata: { a: 1 } }))).toContain('a=1');
  });
});
