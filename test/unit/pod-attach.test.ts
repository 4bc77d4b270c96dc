import { describe, expect, it } from 'vitest';
import { AttachMarkReader, attachCommand, detachCommand } from '../../server/terminal/pod-attach.ts';
import { PROMPT_MARK } from '../../server/terminal/runner.ts';

/** The toolbox attachment's first bytes (server/terminal/pod-attach.ts): what the script says, and what follows. */

const mark = (state: string, pid: number) => Buffer.from(`\x1b]6973;kubedojo;${state};${pid}\x07`, 'latin1');

describe('the attach mark', () => {
  it('reads a new, joined or plain shell and its attachment pid, and hands on what follows', () => {
    const fresh = new AttachMarkReader().push(Buffer.concat([mark('new', 31), Buffer.from('\x1b[H\x1b[Jprompt$ ')]));
    expect(fresh).toEqual({ attachment: { kind: 'dtach', pid: 31, joined: undefined }, rest: Buffer.from('\x1b[H\x1b[Jprompt$ ') });
    expect(new AttachMarkReader().push(mark('prompt', 7))).toMatchObject({ attachment: { kind: 'dtach', pid: 7, joined: 'prompt' } });
    expect(new AttachMarkReader().push(mark('busy', 7))).toMatchObject({ attachment: { kind: 'dtach', pid: 7, joined: 'busy' } });
    expect(new AttachMarkReader().push(mark('plain', 9))).toMatchObject({ attachment: { kind: 'plain', pid: 9 } });
  });

  it('waits for a mark split across chunks, byte by byte', () => {
    const reader = new AttachMarkReader();
    const bytes = Buffer.concat([mark('prompt', 1234), Buffer.from('x')]);
    for (let i = 0; i < bytes.length - 2; i += 1) expect(reader.push(bytes.subarray(i, i + 1))).toBeUndefined();
    expect(reader.push(bytes.subarray(bytes.length - 2))).toEqual({ attachment: { kind: 'dtach', pid: 1234, joined: 'prompt' }, rest: Buffer.from('x') });
  });

  it('turns anything else first (the script failed) into an error carrying that output', () => {
    expect(new AttachMarkReader().push(Buffer.from('sh: 1: cannot create /run/x: Permission denied\n'))).toEqual({ error: 'sh: 1: cannot create /run/x: Permission denied\n' });
    expect(new AttachMarkReader().push(Buffer.from('\x1b]6973;kubedojo;weird;1\x07'))).toMatchObject({ error: expect.stringContaining('weird') as unknown });
  });

  it('runs the script with the prompt mark as its argument, and detaches by a dtach pid only', () => {
    const command = attachCommand();
    expect(command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(command.slice(3)).toEqual(['sh', PROMPT_MARK, expect.stringContaining('select.select(') as unknown]);
    // dtach: attach or create, no detach key (the learner's Ctrl+\ is theirs), no suspend key, SIGWINCH to redraw;
    // the shell behind the relay.
    expect(command[2]).toContain('exec dtach -A "$s" -E -z -r winch "$@"');
    expect(command[2]).toContain('set -- python3 -c "$relay" "$@"');
    expect(detachCommand(42)).toEqual(['sh', '-c', expect.stringContaining('= dtach ] && kill -HUP "$1"') as unknown, 'sh', '42']);
  });
});
