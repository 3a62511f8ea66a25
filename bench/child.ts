/**
 * Runs one task of one suite module in this (fresh) process and sends its
 * Measurement to the parent over IPC. Started by `measure` in harness.ts;
 * not meant to be run by hand (use `npm run bench -- --inline` instead).
 */
import type { BenchOptions, ChildMessage, Task } from './harness.js';

const [moduleUrl, name, optionsJson] = process.argv.slice(2);
if (moduleUrl === undefined || name === undefined || optionsJson === undefined || process.send === undefined) {
  throw new Error('bench/child.ts is started by bench/harness.ts');
}
const suite = (await import(moduleUrl)) as { tasks?: Record<string, Task> };
const task = suite.tasks?.[name];
if (task === undefined) throw new Error(`no task ${name} in ${moduleUrl}`);
const measurement = await task({ ...(JSON.parse(optionsJson) as BenchOptions), inline: true });
process.send({ kind: 'result', measurement } satisfies ChildMessage, () => process.disconnect());
