/**
 * src/net/netlink.ts in a namespace, checked against iproute2's own view (`ip -j`):
 * links, primary addresses, VIP add/remove with keepalived's options, the
 * "already there"/"not there" outcomes, kernel errors by errno name, and the monitor
 * reporting changes made by someone else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lan, netnsSkip } from '../helpers/netns.js';
import { AgentCallError, NetAgent, type AgentEvent } from '../helpers/ns-agent.js';

describe('rtnetlink client and monitor', { skip: netnsSkip() }, () => {
  let lan: Lan;
  let agent: NetAgent;

  before(async () => {
    lan = await Lan.create({ hosts: ['h1', 'h2'] });
    agent = await NetAgent.start(lan, 'h1');
  });

  after(async () => {
    await lan?.destroy();
  });

  test('links and primary addresses match the namespace', async () => {
    const h1 = lan.host('h1');
    const link = await agent.call<{ name: string; up: boolean; running: boolean; mac: string; index: number }>('nl.link');
    assert.equal(link.name, 'eth0');
    assert.equal(link.up, true);
    assert.equal(link.running, true);
    assert.equal(link.mac, h1.mac);
    const ipIndex = JSON.parse(await lan.exec('h1', ['ip', '-j', 'link', 'show', 'eth0']))[0].ifindex as number;
    assert.equal(link.index, ipIndex);
    const links = await agent.call<Array<{ name: string }>>('nl.links');
    assert.deepEqual(links.map((l) => l.name).sort(), ['eth0', 'lo']);
    assert.deepEqual(await agent.call('nl.primary'), { ipv4: h1.ipv4, ipv6ll: h1.linkLocal });
  });

  test('a VIP with a label is added once, then reported as already there', async () => {
    const vip = lan.addr(100);
    assert.equal(await agent.call('nl.add', { spec: { address: vip, prefixLength: 24, label: 'eth0:vip' } }), 'added');
    const a = (await lan.addrs('h1')).find((x) => x.local === vip);
    assert.ok(a, `${vip} not in ip -j addr`);
    assert.equal(a.prefixlen, 24);
    assert.equal(a.label, 'eth0:vip');
    assert.ok(a.flags.includes('secondary'), 'same subnet as the primary: secondary');
    assert.equal(await agent.call('nl.add', { spec: { address: vip, prefixLength: 24, label: 'eth0:vip' } }), 'exists');
    const primary = await agent.call<{ ipv4: string }>('nl.primary');
    assert.equal(primary.ipv4, lan.host('h1').ipv4, 'a secondary VIP is never the primary address');
  });

  test('brd, scope and noprefixroute reach the kernel', async () => {
    const ip = '10.20.30.40';
    assert.equal(
      await agent.call('nl.add', {
        spec: { address: ip, prefixLength: 24, broadcast: '10.20.30.255', scope: 'link', noPrefixRoute: true },
      }),
      'added',
    );
    const a = (await lan.addrs('h1')).find((x) => x.local === ip);
    assert.ok(a);
    assert.equal(a.broadcast, '10.20.30.255');
    assert.equal(a.scope, 'link');
    assert.ok(a.flags.includes('noprefixroute'), `flags: ${a.flags.join(',')}`);
    const routes = JSON.parse(await lan.exec('h1', ['ip', '-j', 'route', 'show', '10.20.30.0/24'])) as unknown[];
    assert.equal(routes.length, 0, 'noprefixroute: no connected route');
    assert.equal(await agent.call('nl.del', { key: { address: ip, prefixLength: 24 } }), 'removed');
  });

  test('IPv6 VIP with nodad', async () => {
    const vip6 = lan.addr6(100);
    assert.equal(await agent.call('nl.add', { spec: { address: vip6, prefixLength: 64, noDad: true } }), 'added');
    const a = (await lan.addrs('h1')).find((x) => x.local === vip6);
    assert.ok(a);
    assert.equal(a.prefixlen, 64);
    assert.ok(a.flags.includes('nodad'), `flags: ${a.flags.join(',')}`);
    assert.equal(await agent.call('nl.add', { spec: { address: vip6, prefixLength: 64, noDad: true } }), 'exists');
  });

  test('removal: "removed" once, then "absent" rather than a failure', async () => {
    const vip = lan.addr(100);
    const vip6 = lan.addr6(100);
    assert.equal(await agent.call('nl.del', { key: { address: vip, prefixLength: 24 } }), 'removed');
    assert.equal(await lan.hasAddress('h1', vip), false);
    assert.equal(await agent.call('nl.del', { key: { address: vip, prefixLength: 24 } }), 'absent');
    assert.equal(await agent.call('nl.del', { key: { address: vip6, prefixLength: 64 } }), 'removed');
    assert.equal(await lan.hasAddress('h1', vip6), false);
    assert.equal(await agent.call('nl.del', { key: { address: vip6, prefixLength: 64 } }), 'absent');
    assert.equal(await lan.hasAddress('h1', lan.host('h1').ipv4), true, 'the primary address was left alone');
  });

  test('kernel refusals carry the errno name', async () => {
    await assert.rejects(
      agent.call('nl.addIndex', { spec: { index: 9999, address: lan.addr(101), prefixLength: 24 } }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ENETLINK' && err.errno === 'ENODEV' && /ENODEV/.test(err.message),
    );
    await assert.rejects(
      agent.call('nl.add', { spec: { address: lan.addr(101), prefixLength: 33 } }),
      (err: unknown) => err instanceof AgentCallError && err.code === 'ENETLINK' && err.errno === 'EINVAL',
    );
  });

  test('the monitor reports address and link changes made by others', async () => {
    await agent.call('monitor.open');
    agent.skipSeen();
    const ev = (pred: (e: AgentEvent) => boolean): Promise<AgentEvent> => agent.waitForEvent((e) => e.event === 'net' && pred(e));
    const vip = lan.addr(102);
    const vip6 = lan.addr6(102);

    await lan.exec('h1', ['ip', 'addr', 'add', `${vip}/24`, 'dev', 'eth0']);
    const added = await ev((e) => e['type'] === 'address' && e['address'] === vip);
    assert.equal(added['change'], 'added');
    assert.equal(added['prefixLength'], 24);
    assert.equal(added['family'], 4);

    await lan.exec('h1', ['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);
    const removed = await ev((e) => e['type'] === 'address' && e['address'] === vip && e['change'] === 'removed');
    assert.equal(removed['prefixLength'], 24);

    await lan.exec('h1', ['ip', 'addr', 'add', `${vip6}/64`, 'dev', 'eth0', 'nodad']);
    await ev((e) => e['type'] === 'address' && e['address'] === vip6 && e['change'] === 'added' && e['family'] === 6);
    await lan.exec('h1', ['ip', 'addr', 'del', `${vip6}/64`, 'dev', 'eth0']);
    await ev((e) => e['type'] === 'address' && e['address'] === vip6 && e['change'] === 'removed');

    await lan.linkDown('h1');
    const down = await ev((e) => e['type'] === 'link' && e['name'] === 'eth0' && e['up'] === false);
    assert.equal(down['running'], false);
    assert.equal(down['deleted'], false);
    await lan.linkUp('h1');
    await ev((e) => e['type'] === 'link' && e['name'] === 'eth0' && e['up'] === true && e['running'] === true);

    // Carrier loss with the interface still up: the peer end of the veth goes down.
    agent.skipSeen();
    await lan.unplug('h1');
    const noCarrier = await ev((e) => e['type'] === 'link' && e['name'] === 'eth0' && e['running'] === false);
    assert.equal(noCarrier['up'], true, 'still administratively up');
    await lan.plug('h1');
    await ev((e) => e['type'] === 'link' && e['name'] === 'eth0' && e['running'] === true);
  });

  test('the monitor reports a new link, its rename and its deletion; no duplicate events', async () => {
    agent.skipSeen();
    const ev = (pred: (e: AgentEvent) => boolean): Promise<AgentEvent> => agent.waitForEvent((e) => e.event === 'net' && pred(e));
    await lan.exec('h1', ['ip', 'link', 'add', 'tmp0', 'type', 'veth', 'peer', 'name', 'tmp1']);
    const created = await ev((e) => e['type'] === 'link' && e['name'] === 'tmp0');
    assert.equal(created['deleted'], false);
    // Joining and leaving a bridge: the kernel sends an AF_BRIDGE RTM_DELLINK ("Deleted" in
    // `ip monitor`) for the port, which must not read as the link being gone.
    await lan.exec('h1', ['ip', 'link', 'add', 'br9', 'type', 'bridge']);
    await lan.exec('h1', ['ip', 'link', 'set', 'tmp0', 'master', 'br9']);
    await lan.exec('h1', ['ip', 'link', 'set', 'tmp0', 'nomaster']);
    await lan.exec('h1', ['ip', 'link', 'del', 'br9']);
    await ev((e) => e['type'] === 'link' && e['name'] === 'br9' && e['deleted'] === true);
    assert.equal(agent.events().filter((e) => e['index'] === created['index'] && e['deleted'] === true).length, 0);
    await lan.exec('h1', ['ip', 'link', 'set', 'tmp0', 'name', 'tmp9']);
    const renamed = await ev((e) => e['type'] === 'link' && e['name'] === 'tmp9');
    assert.equal(renamed['renamedFrom'], 'tmp0');
    assert.equal(renamed['index'], created['index']);
    await lan.exec('h1', ['ip', 'link', 'del', 'tmp9']);
    const gone = await ev((e) => e['type'] === 'link' && e['index'] === created['index'] && e['deleted'] === true);
    assert.equal(gone['name'], 'tmp9');
    // Adding the same address twice by hand produces one event, not two.
    const vip = lan.addr(103);
    await lan.exec('h1', ['ip', 'addr', 'add', `${vip}/24`, 'dev', 'eth0']);
    await ev((e) => e['type'] === 'address' && e['address'] === vip);
    await lan.exec('h1', ['ip', 'addr', 'change', `${vip}/24`, 'dev', 'eth0']);
    await lan.exec('h1', ['ip', 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);
    await ev((e) => e['type'] === 'address' && e['address'] === vip && e['change'] === 'removed');
    const adds = agent.events().filter((e) => e.event === 'net' && e['address'] === vip && e['change'] === 'added');
    assert.equal(adds.length, 1);
    assert.equal(agent.events().filter((e) => e.event === 'error').length, 0);
    assert.equal(await agent.call('monitor.close'), true);
  });
});
