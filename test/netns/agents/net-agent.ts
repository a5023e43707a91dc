/**
 * Runs inside a namespace (`ip netns exec <ns> node dist/test/netns/agents/net-agent.js`)
 * and drives src/net for a test over JSON lines.
 *
 * stdin:  {"id":1,"op":"transport.open","family":4}
 * stdout: {"id":1,"ok":true,"result":...} | {"id":1,"ok":false,"error":{"code","errno","message"}}
 *         {"event":"packet",...} {"event":"net",...} {"event":"error",...} {"event":"ready"}
 * Ops are listed in `ops` below. The agent exits on "exit" or when stdin closes.
 */
import { createInterface } from 'node:readline';
import { isVipdError } from '../../../src/errors.js';
import { openGarpSender, type GarpSender } from '../../../src/net/garp.js';
import { errnoName, loadNative } from '../../../src/net/native.js';
import {
  openNetlink,
  openNetMonitor,
  type AddressKey,
  type AddressSpec,
  type NetMonitor,
} from '../../../src/net/netlink.js';
import { openTransport, type Transport } from '../../../src/net/transport.js';
import { createSocket, type Socket as RawSocket } from 'raw-socket';

type Args = Record<string, unknown>;

function emit(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function errorJson(err: unknown): { code: string; errno?: string; message: string } {
  const errno = errnoName(err);
  return {
    code: isVipdError(err) ? err.code : 'EAGENT',
    ...(errno ? { errno } : {}),
    message: err instanceof Error ? err.message : String(err),
  };
}

const transports = new Map<string, Transport>();
const faultySockets: RawSocket[] = [];
let monitor: NetMonitor | undefined;
let garp: GarpSender | undefined;
const netlink = openNetlink();

async function linkOf(ifname: string): Promise<{ index: number; mac: string }> {
  const link = await netlink.getLink(ifname);
  if (!link?.mac) throw new Error(`no link ${ifname} with a MAC address`);
  return { index: link.index, mac: link.mac };
}

const str = (a: Args, k: string, dflt?: string): string => {
  const v = a[k] ?? dflt;
  if (typeof v !== 'string') throw new Error(`argument ${k} must be a string`);
  return v;
};
const family = (a: Args): 4 | 6 => (a['family'] === 6 ? 6 : 4);

const ops: Record<string, (a: Args) => unknown> = {
  'native.load': () => Object.keys(loadNative()),
  'transport.open': (a) => {
    const ifname = str(a, 'ifname', 'eth0');
    const fam = family(a);
    const t = openTransport({
      ifname,
      family: fam,
      ...(typeof a['group'] === 'string' ? { multicastGroup: a['group'] } : {}),
      ...(a['join'] === false ? { joinMulticast: false } : {}),
      onPacket: (bytes, meta) => emit({ event: 'packet', ...meta, hex: bytes.toString('hex') }),
      onError: (err) => emit({ event: 'error', source: 'transport', error: errorJson(err) }),
    });
    transports.set(`${ifname}/${fam}`, t);
    return { ifindex: t.ifindex, group: t.multicastGroup };
  },
  // An IPv4 transport on a raw socket the agent keeps a hold of, to break it on purpose.
  'transport.openFaulty': (a) => {
    const ifname = str(a, 'ifname', 'eth0');
    const t = openTransport(
      {
        ifname,
        family: 4,
        onPacket: (bytes, meta) => emit({ event: 'packet', faulty: true, ...meta, hex: bytes.toString('hex') }),
        onError: (err) => emit({ event: 'error', source: 'faulty', error: errorJson(err) }),
      },
      {
        createRawSocket: (o) => {
          faultySockets.push(createSocket(o));
          return faultySockets.at(-1) as RawSocket;
        },
      },
    );
    transports.set(`${ifname}/faulty`, t);
    return faultySockets.length;
  },
  // What raw-socket does on an event-loop level socket error: emit 'error', then close.
  // Also tries a send right away (before any reopen can happen) and reports its outcome.
  'transport.fault': async (a) => {
    const sock = faultySockets.at(-1) as RawSocket & { onError(err: Error): void };
    sock.onError(new Error('injected poll error'));
    const t = transports.get(`${str(a, 'ifname', 'eth0')}/faulty`);
    const sendWhileDown = t
      ? await t.send(Buffer.alloc(8), { src: '10.0.0.1', dst: '224.0.0.18' }).then(
          () => 'sent',
          (err: unknown) => errorJson(err).message,
        )
      : 'no transport';
    return { sockets: faultySockets.length, sendWhileDown };
  },
  'transport.send': async (a) => {
    const t = transports.get(`${str(a, 'ifname', 'eth0')}/${a['faulty'] === true ? 'faulty' : family(a)}`);
    if (!t) throw new Error('transport not open');
    await t.send(Buffer.from(str(a, 'hex'), 'hex'), {
      dst: str(a, 'dst'),
      ...(typeof a['src'] === 'string' ? { src: a['src'] } : {}),
    });
    return true;
  },
  'transport.close': (a) => {
    const key = `${str(a, 'ifname', 'eth0')}/${a['faulty'] === true ? 'faulty' : family(a)}`;
    const t = transports.get(key);
    t?.close();
    t?.close(); // twice on purpose: close() must be idempotent
    // kept in the map, so a later send exercises send-after-close
    return t?.closed ?? false;
  },
  'nl.links': () => netlink.listLinks(),
  'nl.link': (a) => netlink.getLink(str(a, 'ifname', 'eth0')),
  'nl.addrs': async (a) => {
    const link = await linkOf(str(a, 'ifname', 'eth0'));
    return netlink.listAddresses({ index: link.index, ...(a['family'] ? { family: family(a) } : {}) });
  },
  'nl.primary': async (a) => {
    const link = await linkOf(str(a, 'ifname', 'eth0'));
    return { ipv4: (await netlink.primaryIpv4(link.index)) ?? null, ipv6ll: (await netlink.ipv6LinkLocal(link.index)) ?? null };
  },
  'nl.add': async (a) => {
    const link = await linkOf(str(a, 'ifname', 'eth0'));
    return netlink.addAddress({ ...(a['spec'] as Omit<AddressSpec, 'index'>), index: link.index });
  },
  'nl.del': async (a) => {
    const link = await linkOf(str(a, 'ifname', 'eth0'));
    return netlink.deleteAddress({ ...(a['key'] as Omit<AddressKey, 'index'>), index: link.index });
  },
  'nl.addIndex': (a) => netlink.addAddress(a['spec'] as AddressSpec),
  'monitor.open': async () => {
    monitor = await openNetMonitor({
      onEvent: (e) => emit({ event: 'net', ...e }),
      onError: (err) => emit({ event: 'error', source: 'monitor', error: errorJson(err) }),
    });
    return monitor.links().size;
  },
  'monitor.close': () => {
    monitor?.close();
    monitor?.close();
    return true;
  },
  'garp.burst': async (a) => {
    const ifname = str(a, 'ifname', 'eth0');
    const link = await linkOf(ifname);
    garp ??= openGarpSender();
    const r = await garp.burst({
      ifname,
      ifindex: link.index,
      mac: link.mac,
      ipv4: (a['ipv4'] as string[] | undefined) ?? [],
      ipv6: (a['ipv6'] as string[] | undefined) ?? [],
      repeat: typeof a['repeat'] === 'number' ? a['repeat'] : 5,
      ...(typeof a['garpIntervalMs'] === 'number' ? { garpIntervalMs: a['garpIntervalMs'] } : {}),
      ...(typeof a['gnaIntervalMs'] === 'number' ? { gnaIntervalMs: a['gnaIntervalMs'] } : {}),
      ...(typeof a['cancelAfterMs'] === 'number' ? { signal: AbortSignal.timeout(a['cancelAfterMs']) } : {}),
    });
    return { ...r, errors: r.errors.map(errorJson) };
  },
  exit: () => {
    setImmediate(shutdown);
    return true;
  },
};

function shutdown(): void {
  for (const t of transports.values()) t.close();
  monitor?.close();
  garp?.close();
  netlink.close();
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    let msg: Args & { id?: unknown; op?: unknown };
    try {
      msg = JSON.parse(line) as Args;
    } catch {
      emit({ event: 'error', source: 'agent', error: { code: 'EAGENT', message: `not JSON: ${line}` } });
      return;
    }
    const id = msg.id;
    const op = typeof msg.op === 'string' ? ops[msg.op] : undefined;
    if (!op) {
      emit({ id, ok: false, error: { code: 'EAGENT', message: `unknown op ${String(msg.op)}` } });
      return;
    }
    Promise.resolve()
      .then(() => op(msg))
      .then(
        (result) => emit({ id, ok: true, result: result ?? null }),
        (err: unknown) => emit({ id, ok: false, error: errorJson(err) }),
      );
  })
  .on('close', shutdown);

emit({ event: 'ready', pid: process.pid });
