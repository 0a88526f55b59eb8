/**
 * Making sure the queue file can be opened before SQLite tries, so a start that cannot work says
 * which path is wrong and why in one sentence, instead of SQLite's "unable to open database file"
 * or a stack trace. The folders are created one level at a time: `mkdirSync(…, { recursive })`
 * loops forever on a folder that cannot be created under /proc.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class QueueOpenError extends Error {
  /** The configured path, as written. */
  readonly path: string;
  /** Why, naming the folder or file at fault when it is not the path itself. */
  readonly reason: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`cannot open the queue file ${path} (queue.path): ${reason}`, options);
    this.name = 'QueueOpenError';
    this.path = path;
    this.reason = reason;
  }
}

/** "no such file or directory (ENOENT)" from a Node fs error. */
export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return String((e as Error)?.message ?? error);
  const text = (e.message ?? '').split(', ')[0]!.replace(/^[A-Z0-9_]+: /, '');
  return `${text} (${e.code})`;
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

/** Creates the folders of `path` and checks that the file can be created or written. */
export function prepareQueueFile(path: string): void {
  const file = resolve(path);
  const folder = dirname(file);
  // Up to the nearest folder that exists; every one on the way must be a folder.
  const missing: string[] = [];
  let current = folder;
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(current).isDirectory();
    } catch (error) {
      const parent = dirname(current);
      if ((code(error) === 'ENOENT' || code(error) === 'ENOTDIR') && parent !== current) {
        missing.push(current);
        current = parent;
        continue;
      }
      throw new QueueOpenError(path, `cannot read the folder ${current}: ${describeFsError(error)}`, {
        cause: error,
      });
    }
    if (!isDirectory) throw new QueueOpenError(path, `${current} is not a directory`);
    break;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (error) {
      if (code(error) === 'EEXIST' && statSync(dir).isDirectory()) continue;
      throw new QueueOpenError(path, `cannot create the folder ${dir}: ${describeFsError(error)}`, {
        cause: error,
      });
    }
  }
  // SQLite writes the -wal and -shm files beside the database.
  try {
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw new QueueOpenError(path, `cannot write in the folder ${folder}: ${describeFsError(error)}`, {
      cause: error,
    });
  }
  let exists = true;
  try {
    if (statSync(file).isDirectory()) throw new QueueOpenError(path, `${file} is a directory`);
  } catch (error) {
    if (error instanceof QueueOpenError) throw error;
    if (code(error) !== 'ENOENT') {
      throw new QueueOpenError(path, describeFsError(error), { cause: error });
    }
    exists = false;
  }
  try {
    if (exists) accessSync(file, constants.R_OK | constants.W_OK);
    // An empty file is a new database to SQLite: creating it here tells why it cannot be.
    else closeSync(openSync(file, 'a'));
  } catch (error) {
    throw new QueueOpenError(
      path,
      `cannot ${exists ? 'write' : 'create'} ${file}: ${describeFsError(error)}`,
      { cause: error },
    );
  }
}
