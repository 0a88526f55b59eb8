/**
 * A parsing worker thread (see pool.ts): takes one job at a time, builds the reader for the
 * job's step config once (a route's steps are few; the cache is cleared should reloads pile them
 * up), and answers with the value or the step's error as code and parameters.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { HookrelayError } from '../core/errors.ts';
import { createXmlReader, type XmlConfig, type XmlReader } from '../transforms/xml.ts';
import type { ParseJob, WorkerReply } from './pool.ts';

const MAX_READERS = 64;
/** Nice value of a parsing thread: when it competes with the event loop for a core, the loop wins. */
const NICE = 10;

/**
 * Linux keeps a nice value per thread: this one is lowered, so a saturated pool on a busy (or
 * single-core) machine slows down its own parsing rather than the health checks and the small
 * requests on the event loop. Elsewhere, or where it is not allowed, the thread keeps the
 * process's priority.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, NICE);
  } catch {
    // Not Linux, or no /proc: parse at the process's priority.
  }
}

lowerPriority();
const readers = new Map<string, XmlReader>();

function reader(job: ParseJob): XmlReader {
  const key = JSON.stringify([job.step, job.config]);
  let read = readers.get(key);
  if (!read) {
    if (readers.size >= MAX_READERS) readers.clear();
    read = createXmlReader(job.config as XmlConfig, job.step);
    readers.set(key, read);
  }
  return read;
}

function handle(id: number, job: ParseJob): WorkerReply {
  try {
    const bytes = Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength);
    return { id, value: reader(job)(bytes, job.contentType) };
  } catch (error) {
    if (error instanceof HookrelayError) return { id, error: { code: error.code, params: error.params } };
    return { id, failure: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
}

parentPort!.on('message', ({ id, job }: { id: number; job: ParseJob }) => {
  const reply = handle(id, job);
  try {
    parentPort!.postMessage(reply);
  } catch (error) {
    // Numbers kept with their exact digits (`parseValues`) are JSON.rawJSON objects, which
    // structured clone refuses: such a value goes back as JSON text, which writes them as they are.
    if ('value' in reply) {
      try {
        parentPort!.postMessage({ id, json: JSON.stringify(reply.value) } satisfies WorkerReply);
        return;
      } catch {
        // fall through: not JSON either
      }
    }
    // A value that cannot be sent would be a bug in the reader: report it rather than hang.
    parentPort!.postMessage({ id, failure: `the parsed value could not be sent back: ${String(error)}` });
  }
});
