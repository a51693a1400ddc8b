/**
 * Load from its own process (so generating it does not slow the measuring client down): one
 * open-loop run (bench/lib/load.ts) on the parent's `run` message, answered by `result`.
 */
import { childMain, hear, tell, type ChildMessage } from '../lib/common';
import { openLoop, type GraphqlLoad } from '../lib/load';

interface Run extends ChildMessage {
  load: GraphqlLoad;
  rate: number;
  seconds: number;
  connections: number;
}

childMain(async () => {
  tell({ type: 'ready' });
  const { load, rate, seconds, connections } = await hear<Run>('run');
  tell({ type: 'result', result: await openLoop(load, rate, seconds, connections) });
  await hear('exit');
  process.exit(0);
});
