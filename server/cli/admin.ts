import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AuthService } from '../auth/auth-service.ts';
import { passwordSchema, usernameSchema } from '../fields.ts';
import { ROLES } from '../vocabulary.ts';
import { openDatabase } from '../db/database.ts';
import { LearnerRepository } from '../db/learners.ts';
import { EXIT, UsageError, type CliContext } from './context.ts';

const options = z.object({
  username: usernameSchema,
  role: z.enum(ROLES, { error: '--role must be admin, instructor or learner' }).default('admin'),
  displayName: z.string().trim().min(1).max(80).optional(),
  passwordStdin: z.boolean().optional(),
});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/**
 * `kubedojo admin create --username U [--role admin|instructor|learner] [--password-stdin]`:
 * an account straight in the database (the first admin, or instructors). Without
 * --password-stdin a strong password is generated and printed once.
 */
export async function adminCreate(ctx: CliContext, raw: unknown): Promise<number> {
  const parsed = options.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const o = parsed.data;
  let password: string;
  let generated = false;
  if (o.passwordStdin) {
    const checked = passwordSchema.safeParse(await readStdin());
    if (!checked.success) throw new UsageError(`the password from stdin ${checked.error.issues[0]?.message ?? 'is not valid'}`);
    password = checked.data;
  } else {
    password = randomBytes(15).toString('base64url');
    generated = true;
  }
  const db = await openDatabase(ctx.config.database, ctx.logger);
  try {
    const auth = new AuthService({ learners: new LearnerRepository(db), logger: ctx.logger });
    const { learner } = await auth.register({ username: o.username, password, displayName: o.displayName ?? o.username, role: o.role });
    ctx.out.write(`Created the ${learner.role} account "${o.username}".\n`);
    if (generated) ctx.out.write(`Its password (shown once; sign in and keep it safe): ${password}\n`);
    return EXIT.ok;
  } finally {
    await db.destroy();
  }
}
