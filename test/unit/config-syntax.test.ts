// The keepalived.conf language: comments, quotes, braces, conditional lines,
// definitions, continuation lines and include.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, loadConfigAsync, memoryFs, parseConfigText, type Config } from '../../src/config/index.js';

function parse(text: string, configId = 'lb01'): { config: Config; diags: string[] } {
  const r = parseConfigText(text, { file: 't.conf', configId });
  return { config: r.config, diags: r.diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.message}`) };
}

const INSTANCE = (body: string): string => `vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress {\n  10.0.0.1\n }\n${body}\n}\n`;

describe('comments', () => {
  it('! and # anywhere outside quotes, also right after { and in Chinese', () => {
    const { config, diags } = parse(
      [
        '! Configuration File for keepalived          #全局定义',
        'global_defs {   #全局定义块，注意{之后的注释',
        '   router_id lb01 # 运行keepalived的机器的一个标识',
        '   notification_email { ! addresses',
        '     a@b.c  # first',
        '   } # end',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(diags, []);
    assert.equal(config.global.routerId, 'lb01');
    assert.deepEqual(config.global.notificationEmail, ['a@b.c']);
  });

  it('a comment character inside quotes is text; \\# and \\! outside quotes are literal', () => {
    const { config, diags } = parse('global_defs {\n router_id a\\#b\n notification_email_from "x#y!z"\n}\n');
    assert.deepEqual(diags, []);
    assert.equal(config.global.routerId, 'a#b');
    assert.equal(config.global.notificationEmailFrom, 'x#y!z');
  });

  it('${_HASH} and ${_BANG} give the comment characters', () => {
    const { config } = parse('global_defs {\n router_id a${_HASH}b${_BANG}\n}\n');
    assert.equal(config.global.routerId, 'a#b!');
  });
});

describe('quotes and words', () => {
  it('"…" and \'…\' are one word; an apostrophe inside a word is just a character', () => {
    const { config, diags } = parse(
      "vrrp_script s {\n script \"/bin/sh -c 'test -f /x && exit 1'\"\n user 'nobody'\n}\nglobal_defs {\n router_id it's\n}\n",
    );
    assert.deepEqual(diags, []);
    assert.deepEqual(config.scripts[0]?.command.argv, ['/bin/sh', '-c', 'test -f /x && exit 1']);
    assert.equal(config.scripts[0]?.user, 'nobody');
    assert.equal(config.global.routerId, "it's");
  });

  it('an unterminated double quote is reported and runs to the end of the line', () => {
    const { config, diags } = parse('global_defs {\n router_id "lb 01\n}\n');
    assert.deepEqual(diags, ['2:12 warning unterminated quote: the string runs to the end of the line']);
    assert.equal(config.global.routerId, 'lb 01');
  });

  it('an unquoted multi-word script runs only its first word (keepalived) and says so', () => {
    const { config, diags } = parse('vrrp_script s {\n script /usr/bin/killall -0 haproxy\n}\n');
    assert.deepEqual(config.scripts[0]?.command.argv, ['/usr/bin/killall']);
    assert.equal(diags.length, 1);
    assert.match(diags[0] ?? '', /^2:26 warning script: only '\/usr\/bin\/killall' is run, '-0 haproxy' is ignored .* script "\/usr\/bin\/killall -0 haproxy"$/);
  });

  it('notify "command" user group: the words after the command are the user and group', () => {
    const { config } = parse(INSTANCE(' notify_master "/etc/k/master.sh a \'b c\'" root wheel\n notify /etc/k/all.sh'));
    const n = config.instances[0]?.notify;
    assert.deepEqual([n?.master?.argv, n?.master?.user, n?.master?.group], [['/etc/k/master.sh', 'a', 'b c'], 'root', 'wheel']);
    assert.deepEqual(n?.any?.argv, ['/etc/k/all.sh']);
  });

  it('escapes in commands are read twice, as keepalived does (the line, then the command)', () => {
    const { config } = parse('vrrp_script s {\n script "/bin/echo a\\tb \\x41 \\101 \\"q r\\" \\\\\\"s t\\\\\\""\n}\n');
    assert.equal(config.scripts[0]?.command.text, '/bin/echo a\tb A A "q r" \\"s t\\"');
    assert.deepEqual(config.scripts[0]?.command.argv, ['/bin/echo', 'a', 'b', 'A', 'A', 'q r', '"s', 't"']);
  });
});

describe('braces and lines', () => {
  it('{ on the next line, several statements and braces on one line, blank lines anywhere', () => {
    const { config, diags } = parse(
      [
        'vrrp_instance VI_1',
        '',
        '{',
        '',
        '    state BACKUP',
        '    interface eth0 ; virtual_router_id 7'.replace(' ; virtual_router_id 7', ''),
        '    virtual_router_id 7',
        '    authentication { auth_type PASS',
        '        auth_pass secret }',
        '    virtual_ipaddress { 10.0.0.1/24 dev eth0 }',
        '    track_interface { eth1 weight -10 }',
        '',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(diags, []);
    const i = config.instances[0];
    assert.deepEqual([i?.vrid, i?.auth, i?.vips[0]?.prefixLength, i?.vips[0]?.dev], [7, { type: 'PASS', password: 'secret' }, 24, 'eth0']);
    assert.deepEqual(i?.trackInterfaces.map((t) => [t.name, t.weight]), [['eth1', -10]]);
  });

  it('CRLF line endings are fine', () => {
    const { config, diags } = parse(INSTANCE(' priority 42').replace(/\n/g, '\r\n'));
    assert.deepEqual(diags, []);
    assert.equal(config.instances[0]?.priority, 42);
  });

  it("a '{' with no keyword before it is an error", () => {
    const { diags } = parse('global_defs {\n router_id x\n}\n{\n}\n');
    assert.deepEqual(diags, ["4:1 error unexpected '{': there is no keyword before it"]);
  });

  it('a block where none belongs, and none where one is needed, are errors', () => {
    const { diags } = parse(INSTANCE(' priority 100 {\n }\n virtual_ipaddress_excluded 10.0.0.2'));
    assert.deepEqual(diags, ["7:15 error 'priority' does not take a { } block", "9:2 error 'virtual_ipaddress_excluded' needs a { } block"]);
  });

  it('unknown keywords warn once per occurrence, naming the keyword', () => {
    const { diags } = parse(INSTANCE(' frobnicate 1\n frobnicate 2') + 'nonsense {\n a b\n}\n');
    assert.deepEqual(diags, [
      "7:2 warning unknown keyword 'frobnicate' in vrrp_instance VI_1; ignored",
      "8:2 warning unknown keyword 'frobnicate' in vrrp_instance VI_1; ignored",
      "10:1 warning unknown keyword 'nonsense' at top level; ignored with its block",
    ]);
  });

  it('a trailing backslash continues the line', () => {
    const { config, diags } = parse(INSTANCE(' notify_master "/etc/k/notify.sh \\\n    MASTER VI_1"'));
    assert.deepEqual(diags, []);
    assert.deepEqual(config.instances[0]?.notify.master?.argv, ['/etc/k/notify.sh', 'MASTER', 'VI_1']);
  });
});

describe('conditional lines (@id)', () => {
  const text = INSTANCE('@lb01 priority 150\n@lb02 priority 100\n@^lb01 nopreempt\n@lb01');
  it('@id lines apply to that config id only, @^id to every other', () => {
    const a = parse(text, 'lb01');
    assert.deepEqual(a.diags, []);
    assert.deepEqual([a.config.instances[0]?.priority, a.config.instances[0]?.preempt], [150, true]);
    const b = parse(text, 'lb02');
    assert.deepEqual([b.config.instances[0]?.priority, b.config.instances[0]?.preempt], [100, false]);
    const c = parse(text, 'other');
    assert.deepEqual([c.config.instances[0]?.priority, c.config.instances[0]?.preempt], [100, false]);
  });
});

describe('definitions ($NAME)', () => {
  it('$NAME=value, $NAME and ${NAME}, recursive and at use time', () => {
    const { config, diags } = parse(
      [
        '$BASE=10.2.${SUB}',
        '$SUB=0',
        '$PRIO=120',
        'vrrp_instance VI_1 {',
        ' interface eth0',
        ' virtual_router_id 1${SUB}',
        ' priority $PRIO',
        ' virtual_ipaddress {',
        '  ${BASE}.100/32',
        '$SUB=10',
        '  ${BASE}.100/32',
        ' }',
        '}',
      ].join('\n'),
    );
    assert.deepEqual(diags, []);
    assert.deepEqual(config.instances[0]?.vips.map((v) => v.address), ['10.2.0.100', '10.2.10.100']);
    assert.equal(config.instances[0]?.priority, 120);
    assert.equal(config.instances[0]?.vrid, 10);
  });

  it('definitions combine with @id', () => {
    const text = '@main $PRIORITY=240\n@backup $PRIORITY=200\n' + INSTANCE(' priority $PRIORITY');
    assert.equal(parse(text, 'main').config.instances[0]?.priority, 240);
    assert.equal(parse(text, 'backup').config.instances[0]?.priority, 200);
  });

  it('an undefined ${NAME} is left as is (its braces are not blocks)', () => {
    const { config, diags } = parse("vrrp_script s {\n script /bin/check-${HOME}\n}\n");
    assert.deepEqual(diags, []);
    assert.equal(config.scripts[0]?.command.text, '/bin/check-${HOME}');
  });

  it('multi-line definitions expand to several lines, each with its own @id', () => {
    const text = [
      '$INSTANCE= \\',
      'vrrp_instance VI_${NUM} { \\',
      '    interface eth0 \\',
      '    virtual_router_id ${NUM} \\',
      '    @high priority 130 \\',
      '    @low priority 120 \\',
      '    virtual_ipaddress { \\',
      '        10.0.${NUM}.254/24 \\',
      '    } \\',
      '}',
      '',
      '$NUM=1',
      '$INSTANCE',
      '$NUM=2',
      '$INSTANCE',
    ].join('\n');
    const { config, diags } = parse(text, 'high');
    assert.deepEqual(diags, []);
    assert.deepEqual(
      config.instances.map((i) => [i.name, i.vrid, i.priority, i.vips[0]?.address]),
      [
        ['VI_1', 1, 130, '10.0.1.254'],
        ['VI_2', 2, 130, '10.0.2.254'],
      ],
    );
    assert.equal(parse(text, 'low').config.instances[1]?.priority, 120);
  });

  it('a diagnostic in substituted text points at the reference', () => {
    const { diags } = parse('$P=300\n' + INSTANCE(' priority   $P'));
    assert.deepEqual(diags, ["8:13 error priority must be 1..255, got '300'"]);
  });

  it('a self-referencing definition is an error, not a hang', () => {
    const { diags } = parse('$A=x${A}\nglobal_defs {\n router_id ${A}\n}\n');
    assert.ok(diags.some((d) => d.startsWith('3:12 error parameter substitution does not end')), diags.join('\n'));
  });

  it('${_INSTANCE} is the config id', () => {
    assert.equal(parse('global_defs {\n router_id node-${_INSTANCE}\n}\n', 'lb07').config.global.routerId, 'node-lb07');
  });
});

describe('include', () => {
  const files = {
    '/etc/k/keepalived.conf': 'global_defs {\n router_id main\n}\ninclude conf.d/*.conf\ninclude {a,b}.inc\n',
    '/etc/k/conf.d/20-vi1.conf': INSTANCE(' priority 150\n track_script {\n  chk\n }'),
    '/etc/k/conf.d/10-chk.conf': 'vrrp_script chk {\n script "/usr/bin/pgrep nginx"\n}\ninclude ../sub/*.conf\n',
    '/etc/k/conf.d/notes.txt': 'not included',
    '/etc/k/sub/x.conf': '$X=1\n',
    '/etc/k/a.inc': 'vrrp_instance VI_A {\n interface eth0\n virtual_router_id 2${X}\n virtual_ipaddress {\n  10.0.0.2\n }\n',
    '/etc/k/b.inc': '}\n',
  };

  it('globs relative to the including file, recursive, sorted; blocks may span files', () => {
    const r = loadConfig('/etc/k/keepalived.conf', { fs: memoryFs(files), configId: 'x' });
    assert.deepEqual(r.diagnostics, []);
    assert.ok(r.config);
    assert.deepEqual(r.config.files, [
      '/etc/k/keepalived.conf',
      '/etc/k/conf.d/10-chk.conf',
      '/etc/k/sub/x.conf',
      '/etc/k/conf.d/20-vi1.conf',
      '/etc/k/a.inc',
      '/etc/k/b.inc',
    ]);
    assert.deepEqual(
      r.config.instances.map((i) => [i.name, i.vrid, i.trackScripts.map((t) => t.name)]),
      [
        ['VI_1', 51, ['chk']],
        ['VI_A', 21, []],
      ],
    );
    assert.equal(r.config.instances[0]?.loc.file, '/etc/k/conf.d/20-vi1.conf');
  });

  it('the async loader reads the same files and gives the same result', async () => {
    const fs = memoryFs(files);
    const a = loadConfig('/etc/k/keepalived.conf', { fs, configId: 'x', hostname: 'h' });
    const b = await loadConfigAsync('/etc/k/keepalived.conf', { fs: fs.async, configId: 'x', hostname: 'h' });
    assert.deepEqual(b, a);
  });

  it('a glob that matches nothing warns (includem makes it an error)', () => {
    const r = loadConfig('/k.conf', { fs: memoryFs({ '/k.conf': 'include /none/*.conf\nincludem /none.conf\n' }) });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.severity, d.message]),
      [
        [1, 'warning', 'include /none/*.conf: no file matches'],
        [2, 'error', 'include /none.conf: no such file'],
      ],
    );
  });

  it('include loops are errors that show the chain', () => {
    const r = loadConfig('/a.conf', { fs: memoryFs({ '/a.conf': 'include b.conf\n', '/b.conf': '\ninclude c.conf\n', '/c.conf': 'include /a.conf\n' }) });
    assert.equal(r.config, null);
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.file}:${d.line}:${d.col} ${d.message}`),
      ['/c.conf:1:1 include loop: /a.conf -> /b.conf -> /c.conf -> /a.conf'],
    );
  });

  it('directories and executable files are not included (keepalived refuses executables)', () => {
    const r = loadConfig('/k.conf', {
      fs: memoryFs({ '/k.conf': 'include /d/*\n', '/d/x.conf': 'global_defs {\n router_id x\n}\n', '/d/run.sh': 'echo', '/d/sub/y.conf': '' }, ['/d/run.sh']),
    });
    assert.deepEqual(
      r.diagnostics.map((d) => d.message),
      [
        'include /d/*: /d/run.sh is executable; keepalived skips executable config files, so vipd does too',
        'include /d/*: /d/sub is not a regular file; skipped',
      ],
    );
    assert.equal(r.config?.global.routerId, 'x');
  });

  it('the fixture tree: conf.d/*.conf, not README.txt; a missing glob warns', () => {
    const root = new URL('../../../test/fixtures/configs/include/', import.meta.url).pathname;
    const r = loadConfig(`${root}keepalived.conf`, { configId: 'x' });
    assert.deepEqual(r.diagnostics.map((d) => [d.line, d.severity, d.message]), [[6, 'warning', 'include missing/*.conf: no file matches']]);
    assert.deepEqual(
      r.config?.files.map((f) => f.slice(root.length)),
      ['keepalived.conf', 'conf.d/10-check.conf', 'conf.d/20-instance.conf'],
    );
    assert.deepEqual(r.config?.instances[0]?.trackScripts.map((t) => [t.name, t.weight]), [['chk_nginx', -20]]);
  });
});
