/**
 * A test process that builds a LAN and then ends badly, for net-harness.test.ts:
 *   node lan-child.js exit   → process.exit(0) without destroy()
 *   node lan-child.js hang   → waits to be killed (SIGTERM runs the safety net, SIGKILL leaves leftovers)
 * Prints {"namespaces":[...],"pid":N} once the LAN is up; with "hang" also spawns a
 * long-running process inside h1 to show that it gets killed too.
 */
import { Lan } from '../../helpers/netns.js';

const mode = process.argv[2] ?? 'exit';
const lan = await Lan.create({ hosts: ['h1'] });
const sleeper = lan.spawn('h1', ['sleep', '600']);
process.stdout.write(`${JSON.stringify({ namespaces: [`${lan.id}-sw`, lan.host('h1').ns], pid: process.pid, sleeper: sleeper.pid })}\n`);
if (mode === 'exit') process.exit(0);
setInterval(() => undefined, 1 << 30);
