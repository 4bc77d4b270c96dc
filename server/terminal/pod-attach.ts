import { PROMPT_MARK } from './runner.ts';

/**
 * How a toolbox terminal attaches to the learner's shell. The shell runs under dtach inside the
 * Pod, so an exec is only an attachment: the first one starts the shell, later ones (from any
 * replica: a reload, a replica that went away) join it, and closing an exec leaves it running.
 * dtach passes bytes through untouched (tmux would redraw the screen from its own copy and
 * drop the OSC 133 marks the command runner waits for). Before attaching, the script says in a
 * private OSC mark whether it made the shell or joined it, at its prompt or in a program, and
 * the attachment's process id (to end only this attachment later). A toolbox without dtach (an
 * image of your own) gets a plain shell, as before: it ends with its exec.
 */

/** Where the socket lives: a memory emptyDir of the toolbox Pod, else /tmp (older Pods). */
export const RUN_DIR = '/run/kubedojo';

/**
 * Between dtach's terminal and the shell's, a relay that never blocks either side: dtach's master
 * writes the learner's input to its terminal with blocking writes, so a big paste meeting a
 * shell that is itself blocked printing (the master is not reading it then) would hang both for
 * good. The relay always takes input (up to a MiB waiting, then drops it, as the rate limit
 * would), always drains the shell's output (up to a MiB waiting, then the shell waits), passes
 * bytes through unchanged and hands window sizes on. python3 is in the toolbox already.
 */
const RELAY = String.raw`import os, sys, pty, tty, fcntl, termios, signal, select
# Raw at once, and without flushing: what was typed while python started is the shell's.
try:
    tty.setraw(0, termios.TCSANOW)
except termios.error:
    pass
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
def resize(*_):
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, bytes(8)))
    except OSError:
        pass
resize()
signal.signal(signal.SIGWINCH, resize)
for f in (0, 1, fd):
    os.set_blocking(f, False)
LIMIT = 1 << 20
inp, out, live = bytearray(), bytearray(), True
while live:
    r = [0] + ([fd] if len(out) < LIMIT else [])
    w = ([fd] if inp else []) + ([1] if out else [])
    try:
        r, w, _ = select.select(r, w, [])
    except InterruptedError:
        continue
    try:
        if 0 in r:
            data = os.read(0, 65536)
            if len(inp) < LIMIT:
                inp += data
        if fd in r:
            data = os.read(fd, 65536)
            live = bool(data)
            out += data
        if fd in w:
            del inp[:os.write(fd, inp)]
        if 1 in w:
            del out[:os.write(1, out)]
    except BlockingIOError:
        pass
    except OSError:
        live = False
os.set_blocking(1, True)
try:
    os.write(1, out)
except OSError:
    pass
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))`;

// $1: PROMPT_COMMAND, $2: the relay. `set --` below reuses the positional parameters, so they
// are kept first. /proc/<shell>/stat: after the ")" come state, ppid, pgrp, session, tty,
// tpgid; the shell waits at its prompt when its own process group holds its terminal.
const SCRIPT = `mark="$1"; relay="$2"
d=${RUN_DIR}; [ -d "$d" ] && [ -w "$d" ] || d=/tmp
cd ~ || cd /
if ! command -v dtach >/dev/null 2>&1; then
  printf '\\033]6973;kubedojo;plain;%s\\007' "$$"
  export PROMPT_COMMAND="$mark"
  command -v bash >/dev/null 2>&1 && exec bash -il
  exec sh -i
fi
s="$d/kubedojo-shell.sock"
state=new
if dtach -p "$s" </dev/null >/dev/null 2>&1; then
  state=busy
  pid=$(cat "$d/kubedojo-shell.pid" 2>/dev/null)
  if [ -n "$pid" ] && stat=$(cat "/proc/$pid/stat" 2>/dev/null); then
    set -- \${stat##*) }
    [ "$3" = "$6" ] && state=prompt
  fi
fi
printf '\\033]6973;kubedojo;%s;%s\\007' "$state" "$$"
set -- /bin/sh -c 'echo $$ > "$1"; export PROMPT_COMMAND="$2"; command -v bash >/dev/null 2>&1 && exec bash -il; exec sh -i' sh "$d/kubedojo-shell.pid" "$mark"
command -v python3 >/dev/null 2>&1 && set -- python3 -c "$relay" "$@"
exec dtach -A "$s" -E -z -r winch "$@"
`;

/** The exec's command: the script above, with the prompt mark as its argument. */
export function attachCommand(): string[] {
  return ['/bin/sh', '-c', SCRIPT, 'sh', PROMPT_MARK, RELAY];
}

/** Ends one attachment (a dtach client by its pid), leaving the shell. */
export function detachCommand(pid: number): string[] {
  return ['sh', '-c', '[ "$(cat /proc/$1/comm 2>/dev/null)" = dtach ] && kill -HUP "$1"; true', 'sh', String(pid)];
}

export type Attachment =
  /** No dtach in the image: the shell ends with this exec. */
  | { kind: 'plain'; pid: number }
  /** `joined`: the shell was running already, at its prompt or in a program; unset for a new one. */
  | { kind: 'dtach'; pid: number; joined: 'prompt' | 'busy' | undefined };

// ESC and BEL spelled out, as in runner.ts: the mark is control characters by definition.
const MARK = new RegExp(String.raw`^\u001b\]6973;kubedojo;(plain|new|prompt|busy);(\d+)\u0007`);
const PREFIX = '\x1b]6973;kubedojo;';
const MAX_MARK = 64;

/**
 * Reads the attach mark from the start of the exec's output. `push` returns undefined until the
 * mark is whole, then the attachment and whatever followed it; output that does not start with
 * the mark (the script failed) is an error carrying that output.
 */
export class AttachMarkReader {
  private buffered = Buffer.alloc(0);

  push(chunk: Buffer): { attachment: Attachment; rest: Buffer } | { error: string } | undefined {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const text = this.buffered.toString('latin1');
    const match = MARK.exec(text);
    if (match) {
      const pid = Number(match[2]);
      const state = match[1];
      const attachment: Attachment = state === 'plain' ? { kind: 'plain', pid } : { kind: 'dtach', pid, joined: state === 'prompt' || state === 'busy' ? state : undefined };
      return { attachment, rest: this.buffered.subarray(match[0].length) };
    }
    const head = text.slice(0, PREFIX.length);
    // Not our mark, a mark of another shape (its BEL came), or too long to be one.
    if (!PREFIX.startsWith(head) || text.includes('\x07') || text.length > MAX_MARK) return { error: text.slice(0, 400) };
    return undefined;
  }
}
