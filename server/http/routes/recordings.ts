import fs from 'node:fs';
import { Router } from 'express';
import { z } from 'zod';
import { NotFound, Unavailable } from '../../errors.ts';
import type { RecordingView } from '../../protocol.ts';
import { learnerKey } from '../../sandboxes/names.ts';
import type { RecordingRow, RecordingStore } from '../../terminal/recorder.ts';
import type { Learner } from '../../db/learners.ts';
import { learnerOf } from '../session.ts';
import { validate } from '../validate.ts';

const params = z.object({ id: z.uuid('must be a recording id') });

export function recordingView(row: RecordingRow): RecordingView {
  return { id: row.id, namespace: row.namespace, lesson: row.lesson, startedAt: row.startedAt, endedAt: row.endedAt, bytes: row.bytes };
}

/** A learner's own terminal recordings (asciicast v2) for the replay page. */
export function recordingRoutes(deps: { recordings: RecordingStore; canReplay?: (viewer: Learner, learnerKey: string) => Promise<boolean> }): Router {
  const router = Router();

  /** The learner's own recordings, and those of their workshop participants for an instructor. */
  const owned = async (id: string, viewer: Learner | undefined): Promise<RecordingRow> => {
    const row = await deps.recordings.get(id);
    const mine = row !== undefined && viewer !== undefined && row.learnerKey === learnerKey(viewer.id);
    if (!row || !viewer || !(mine || ((await deps.canReplay?.(viewer, row.learnerKey)) ?? false))) throw new NotFound(`there is no recording ${id}`);
    return row;
  };

  router.get('/recordings', async (_req, res) => {
    const learner = learnerOf(res);
    res.json({ recordings: learner ? (await deps.recordings.byLearner(learnerKey(learner.id))).map(recordingView) : [] });
  });

  router.get('/recordings/:id', validate({ params }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof params>;
    res.json(recordingView(await owned(id, learnerOf(res))));
  });

  router.get('/recordings/:id/cast', validate({ params }), async (_req, res) => {
    const { id } = res.locals.params as z.infer<typeof params>;
    const row = await owned(id, learnerOf(res));
    const file = deps.recordings.fileOf(row);
    if (!fs.existsSync(file)) {
      // Each replica writes recordings into its own data directory unless they share a
      // ReadWriteMany volume (README, "Several replicas"): say so, rather than "no such file".
      const mine = deps.recordings.replica;
      if (row.replica !== null && mine !== null && row.replica !== mine) {
        throw new Unavailable(
          `recording ${id} was written by the kubedojo replica ${row.replica}, and this one (${mine}) cannot read its data directory: try again (the next request may reach that replica), and if it is gone the recording went with it; replicas share recordings only on a ReadWriteMany volume`,
          { replica: row.replica },
        );
      }
      throw new NotFound(`recording ${id} has no file any more`);
    }
    res.type('application/x-asciicast').setHeader('Cache-Control', 'private, no-store');
    fs.createReadStream(file).pipe(res);
  });

  return router;
}
