import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../paths.ts';
import { OFFLINE_IMAGE_REPOSITORIES, type Recipe, type RecipeContext } from './recipes.ts';
import { buildDebianRootfs, DPKG_OPTIONS, MIRRORS, mmdebstrapVersion, SUITE } from './debian.ts';
import { ImageBuildError, runToolOk, sha256File } from './tools.ts';

/**
 * The toolbox image of the pod terminal backend: a lean Debian 12 root file system made by
 * mmdebstrap from Debian's mirrors (no Docker, no registry), with the platform's own kubectl,
 * an editor, python3-kubernetes, and a `learner` user (uid 1000).
 */

const RECIPE_VERSION = '3'; // 2: procps, netcat, dnsutils, iproute2 and a vim link; 3: dtach
/** What the lessons use in a shell: editors, kubectl's friends, and the tools of the networking lessons (ps, nc, dig, ip). */
/** catatonit: process 1 that reaps orphans (sleep would leave a killed fork bomb's zombies holding every process slot). */
/** dtach: the terminal's shell outlives the exec (and the server replica) that attached it (server/terminal/pod-attach.ts). */
export const TOOLBOX_PACKAGES = ['bash', 'bash-completion', 'ca-certificates', 'less', 'nano', 'vim-tiny', 'python3-kubernetes', 'jq', 'curl', 'procps', 'netcat-openbsd', 'dnsutils', 'iproute2', 'catatonit', 'dtach'] as const;
const LEARNER = { uid: 1000, gid: 1000, home: '/home/learner' };
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const packageSchema = z.object({ version: z.string().min(1) });
const kubectlVersionSchema = z.object({ clientVersion: z.object({ gitVersion: z.string() }) });

export async function appVersion(): Promise<string> {
  const parsed = packageSchema.safeParse(JSON.parse(await fs.readFile(path.join(projectRoot, 'package.json'), 'utf8')));
  if (!parsed.success) throw new ImageBuildError(`${path.join(projectRoot, 'package.json')} has no version`);
  return parsed.data.version;
}

async function kubectlVersion(ctx: RecipeContext): Promise<string> {
  const out = await runToolOk(ctx.kubectl, ['version', '--client', '-o', 'json'], `running ${ctx.kubectl}`, {
    env: ctx.env,
    installHint: 'build the control plane first (kubedojo cluster build): it makes the kubectl the toolbox carries',
  });
  const parsed = kubectlVersionSchema.safeParse(JSON.parse(out));
  return parsed.success ? parsed.data.clientVersion.gitVersion : 'unknown';
}

const bashrcBlock = `
# kubedojo toolbox: completion, kubectl's among it, and a prompt naming the sandbox.
if ! shopt -oq posix && [ -f /usr/share/bash-completion/bash_completion ]; then
  . /usr/share/bash-completion/bash_completion
fi
if [ -f /usr/share/bash-completion/completions/kubectl ]; then
  . /usr/share/bash-completion/completions/kubectl
  alias k=kubectl
  complete -o default -F __start_kubectl k
fi
__kd_ns=$(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace 2>/dev/null)
PS1='\\[\\e[1;32m\\]\\u\\[\\e[0m\\]@\\[\\e[1;36m\\]'"\${__kd_ns:-toolbox}"'\\[\\e[0m\\]:\\[\\e[1;34m\\]\\w\\[\\e[0m\\]\\$ '
unset __kd_ns
`;

const learnerBashrc = `# ~/.bashrc of the kubedojo learner (the prompt and completion come from /etc/bash.bashrc)
case $- in *i*) ;; *) return ;; esac
HISTCONTROL=ignoreboth
HISTSIZE=5000
shopt -s histappend checkwinsize
alias ls='ls --color=auto'
alias ll='ls -l'
alias grep='grep --color=auto'
`;

/** Adds the learner to the account files the way useradd would, but with fixed content. */
async function addLearner(rootfs: string): Promise<void> {
  const at = (rel: string) => path.join(rootfs, rel);
  const { uid, gid, home } = LEARNER;
  await fs.appendFile(at('etc/passwd'), `learner:x:${uid}:${gid}:kubedojo learner:${home}:/bin/bash\n`);
  await fs.appendFile(at('etc/group'), `learner:x:${gid}:\n`);
  await fs.appendFile(at('etc/shadow'), 'learner:!::0:99999:7:::\n');
  await fs.appendFile(at('etc/gshadow'), 'learner:!::\n');
  const homeDir = at(home.slice(1));
  await fs.mkdir(homeDir, { recursive: true });
  for (const name of ['.profile', '.bash_logout']) await fs.copyFile(at(`etc/skel/${name}`), path.join(homeDir, name));
  await fs.writeFile(path.join(homeDir, '.bashrc'), learnerBashrc);
  for (const name of ['', '.profile', '.bash_logout', '.bashrc']) {
    await fs.chown(path.join(homeDir, name), uid, gid);
    await fs.chmod(path.join(homeDir, name), name ? 0o644 : 0o755);
  }
}

export const toolbox: Recipe = {
  id: 'toolbox',
  async plan(ctx) {
    const version = await appVersion();
    const mmdebstrap = await mmdebstrapVersion(ctx);
    const kubectl = await kubectlVersion(ctx);
    const kubectlSha = await sha256File(ctx.kubectl);
    return {
      id: 'toolbox',
      name: `${OFFLINE_IMAGE_REPOSITORIES.toolbox}:${version}`,
      tag: version,
      inputs: {
        recipe: RECIPE_VERSION,
        app: version,
        suite: SUITE,
        mirrors: MIRRORS.join('; '),
        packages: TOOLBOX_PACKAGES.join(','),
        dpkg: DPKG_OPTIONS.join(','),
        mmdebstrap,
        kubectl: kubectlSha,
      },
      source: `Debian ${SUITE} (${mmdebstrap}, minbase) with ${TOOLBOX_PACKAGES.join(', ')} and kubectl ${kubectl} (sha256 ${kubectlSha.slice(0, 12)})`,
    };
  },
  async build(ctx, plan, workDir, task) {
    const { rootfs, epoch, mirrorDate } = await buildDebianRootfs(ctx, { workDir, packages: TOOLBOX_PACKAGES, what: 'the toolbox image', task });
    task.update('adding kubectl, the learner and the shell set-up');
    const at = (rel: string) => path.join(rootfs, rel);
    await fs.copyFile(ctx.kubectl, at('usr/local/bin/kubectl'));
    await fs.chmod(at('usr/local/bin/kubectl'), 0o755);
    // Learners type vim; vim-tiny answers to vi only.
    await fs.symlink('/usr/bin/vim.tiny', at('usr/local/bin/vim'));
    const completion = await runToolOk(ctx.kubectl, ['completion', 'bash'], 'generating kubectl completion', { env: ctx.env });
    await fs.writeFile(at('usr/share/bash-completion/completions/kubectl'), completion, { mode: 0o644 });
    await fs.appendFile(at('etc/bash.bashrc'), bashrcBlock);
    await addLearner(rootfs);
    const source = `${plan.source}; Debian mirror of ${mirrorDate}`;
    return {
      rootfs,
      config: {
        user: `${LEARNER.uid}:${LEARNER.gid}`,
        workingDir: LEARNER.home,
        env: [`HOME=${LEARNER.home}`, `PATH=${PATH}`, 'LANG=C.UTF-8', 'EDITOR=nano', 'KUBE_EDITOR=nano'],
        cmd: ['catatonit', '-P'],
        labels: {
          'org.opencontainers.image.title': 'kubedojo toolbox',
          'org.opencontainers.image.version': plan.tag,
          'org.opencontainers.image.description': source,
          'org.opencontainers.image.vendor': 'kubedojo (built locally)',
        },
      },
      // Files newer than the mirror were written during the build: they get the mirror's date.
      mtime: { epoch, clamp: true },
      ownership: 'keep',
      source,
    };
  },
};
