/**
 * The seeds' scenario end to end (issue 5): two hosts each run nginx serving its own
 * name and vipd with a chk_nginx vrrp_script (the shipped conf/chk_nginx.sh; interval 2,
 * weight -20, fall 2, rise 1), priorities 150 and 140; a client curls the VIP in a loop.
 *
 * Stop nginx on the master: two failed checks take it to 130 < 140; the backup ignores
 * the lower adverts and takes over when its down timer fires (RFC 3768 §6.4.2), so the
 * client's answers switch from h1 to h2. Start nginx again: one good check brings h1 back
 * to 150 and it preempts. The test checks the sequence of answers the client saw and
 * how long it went without one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceStatus } from '../../src/control/status.js';
import { startNginx as startWebServer } from '../helpers/nginx.js';
import { Lan, netnsSkip, type NsProcess } from '../helpers/netns.js';
import {
  assertSoleHolder,
  installScript,
  masterDownMs,
  REPO_ROOT,
  VipdHost,
  vrrpConf,
  waitUntil,
} from '../helpers/vipd.js';

const CHECK = { intervalMs: 2000, timeoutMs: 2000, fall: 2, rise: 1, weight: -20 };
const NO_ANSWER = '(no answer)';

interface Answer {
  /** ms since the epoch, when curl returned. */
  readonly at: number;
  readonly text: string;
}

/** Consecutive equal answers merged, "(no answer)" left out: the hosts in the order the client met them. */
function hostsSeen(answers: readonly Answer[]): string[] {
  const out: string[] = [];
  for (const a of answers) if (a.text !== NO_ANSWER && out.at(-1) !== a.text) out.push(a.text);
  return out;
}

/** The time from the last answer of `from` to the first answer of `to` after it. */
function gapMs(answers: readonly Answer[], from: string, to: string): number {
  const first = answers.findIndex((a) => a.text === to);
  assert.ok(first > 0, `the client never got "${to}" after "${from}"`);
  const last = answers.slice(0, first).findLastIndex((a) => a.text === from);
  assert.ok(last >= 0, `the client got no "${from}" before "${to}"`);
  return (answers[first] as Answer).at - (answers[last] as Answer).at;
}

/** "hello from h1 ×12 → (no answer) ×8 → hello from h2 ×5" */
function summary(answers: readonly Answer[]): string {
  const runs: Array<{ text: string; n: number }> = [];
  for (const a of answers) {
    const last = runs.at(-1);
    if (last && last.text === a.text) last.n++;
    else runs.push({ text: a.text, n: 1 });
  }
  return runs.map((r) => `${r.text} ×${r.n}`).join(' → ');
}

describe('nginx pair: chk_nginx moves the VIP and the client follows', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let dir: string;
  let vip: string;
  let h1: VipdHost;
  let h2: VipdHost;
  const nginx = new Map<string, NsProcess>();
  let client: NsProcess;
  const answers: Answer[] = [];

  const collect = (): Answer[] => {
    for (const line of client.stdout.splice(0)) {
      const m = /^(\d+) (.*)$/.exec(line);
      if (m) answers.push({ at: Number(m[1]), text: m[2] as string });
    }
    return answers;
  };


  const startNginx = async (host: string): Promise<void> => {
    nginx.set(host, await startWebServer(lan, host, dir));
  };

  const instance = (state: 'MASTER' | 'BACKUP', priority: number) =>
    ({
      name: 'VI_1',
      state,
      vrid: 51,
      priority,
      authPass: '1111',
      vips: [`${vip}/24`],
      extra: ['track_script {', '    chk_nginx', '}'],
    }) as const;

  const conf = (routerId: string, check: string, state: 'MASTER' | 'BACKUP', priority: number): string =>
    vrrpConf({
      routerId,
      preamble: [
        'vrrp_script chk_nginx {',
        `    script "${check}"`,
        `    interval ${CHECK.intervalMs / 1000}`,
        `    timeout ${CHECK.timeoutMs / 1000}`,
        `    weight ${CHECK.weight}`,
        `    fall ${CHECK.fall}`,
        `    rise ${CHECK.rise}`,
        '}',
        '',
      ],
      instances: [instance(state, priority)],
    }).replace(`router_id ${routerId}\n`, `router_id ${routerId}\n    script_user root\n    enable_script_security\n`);

  before(async () => {
    lan = await Lan.create();
    dir = await mkdtemp(join(tmpdir(), 'vipd-track-nginx-'));
    vip = lan.addr(100);
    const check = await installScript(dir, join(REPO_ROOT, 'conf', 'chk_nginx.sh'));
    for (const host of ['h1', 'h2']) await startNginx(host);
    h1 = await VipdHost.start(lan, 'h1', dir, conf('lb01', check, 'MASTER', 150));
    await h1.waitForState('VI_1', 'MASTER', masterDownMs(150) + 10_000);
    h2 = await VipdHost.start(lan, 'h2', dir, conf('lb02', check, 'BACKUP', 140));
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
    await h1.waitFor('VI_1', (i) => i.trackers.some((t) => t.name === 'chk_nginx' && t.status === 'OK'), 'chk_nginx OK');
    await h2.waitFor('VI_1', (i) => i.trackers.some((t) => t.name === 'chk_nginx' && t.status === 'OK'), 'chk_nginx OK');
    client = lan.spawn('client', [
      'sh',
      '-c',
      `while :; do r=$(curl -s -m 0.5 http://${vip}/ || echo "${NO_ANSWER}"); echo "$(date +%s%3N) $r"; sleep 0.1; done`,
    ]);
    await waitUntil(() => collect().filter((a) => a.text === 'hello from h1').length >= 5, 'the client answered by h1', 10_000, () => summary(answers));
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const chk = (i: InstanceStatus): string | undefined => i.trackers.find((t) => t.kind === 'script' && t.name === 'chk_nginx')?.status;

  test('stop nginx on the master: the backup takes the VIP and the client gets h2', async (t) => {
    const from = collect().length;
    await nginx.get('h1')?.kill('SIGTERM');
    await h2.waitForState('VI_1', 'MASTER', 30_000);
    await waitUntil(() => collect().slice(from).filter((a) => a.text === 'hello from h2').length >= 5, 'the client answered by h2', 15_000, () => summary(answers.slice(from)));

    const seen = answers.slice(from);
    t.diagnostic(`client: ${summary(seen)}`);
    assert.deepEqual(hostsSeen(answers), ['hello from h1', 'hello from h2'], summary(answers));
    const gap = gapMs(answers, 'hello from h1', 'hello from h2');
    const bound = CHECK.fall * CHECK.intervalMs + CHECK.timeoutMs + masterDownMs(140) + 3000;
    t.diagnostic(`without an answer for ${gap} ms (bound ${bound.toFixed(0)} ms: fall × interval + timeout + Master_Down_Interval + 3 s)`);
    assert.ok(gap <= bound, `the client went ${gap} ms without an answer; bound ${bound.toFixed(0)} ms`);
    // Detection alone takes (fall - 1) intervals at least: a faster switch would mean fall was ignored.
    assert.ok(gap >= (CHECK.fall - 1) * CHECK.intervalMs, `switched after only ${gap} ms`);

    const i1 = await h1.waitForState('VI_1', 'BACKUP', 5000);
    assert.equal(i1.effectivePriority, 130, '150 - 20');
    assert.ok(h1.log.some((l) => /VRRP_Script\(chk_nginx\) failed/.test(l)), h1.tail());
    assert.equal(chk(i1), 'FAILING');
    const i2 = await h2.instance('VI_1');
    assert.equal(i2.effectivePriority, 140);
    assert.equal(chk(i2), 'OK');
    await assertSoleHolder(lan, ['h1', 'h2'], vip, 'h2', 1000);
  });

  test('start nginx again: the master preempts back and the client gets h1 again', async (t) => {
    const from = collect().length;
    const mark = h1.proc.mark();
    await startNginx('h1');
    await h1.waitForState('VI_1', 'MASTER', CHECK.intervalMs + masterDownMs(150) + 10_000);
    await waitUntil(() => collect().slice(from).filter((a) => a.text === 'hello from h1').length >= 5, 'the client answered by h1 again', 15_000, () => summary(answers.slice(from)));
    await h2.waitForBackupOf('VI_1', lan.host('h1').ipv4);
    await assertSoleHolder(lan, ['h1', 'h2'], vip, 'h1', 1000);

    const seen = answers.slice(from);
    t.diagnostic(`client: ${summary(seen)}`);
    assert.deepEqual(hostsSeen(seen), ['hello from h2', 'hello from h1'], summary(seen));
    const gap = gapMs(seen, 'hello from h2', 'hello from h1');
    t.diagnostic(`without an answer for ${gap} ms while h1 preempted`);
    // Preemption hands over with both hosts serving: at most a GARP round trip and a curl timeout.
    assert.ok(gap <= 3000, `the client went ${gap} ms without an answer during preemption`);
    const i1 = await h1.instance('VI_1');
    assert.equal(i1.effectivePriority, 150);
    assert.ok(h1.proc.stderr.slice(mark.stderr).some((l) => /VRRP_Script\(chk_nginx\) succeeded/.test(l)), h1.tail());
    assert.equal(chk(i1), 'OK');

    // The whole run, as the client saw it.
    assert.deepEqual(hostsSeen(collect()), ['hello from h1', 'hello from h2', 'hello from h1'], summary(answers));
  });
});
