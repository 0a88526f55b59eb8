/**
 * `server.watchConfig`: watches the config file's directory, not the file. Editors save by
 * writing a temp file and renaming it over the old one, `git pull` replaces files, and a
 * Kubernetes ConfigMap swaps a `..data` symlink: a watch on the file itself would keep watching
 * the replaced inode and miss every later change. When the path is a symlink, the directory of
 * the file it resolves to is watched as well (and followed when the link is swapped). Events are
 * debounced (one save is several events) and the caller reloads only when the content's hash
 * changed, so a touch or another file in the same directory does nothing.
 */
import { type FSWatcher, realpathSync, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface ConfigWatch {
  close(): void;
}

/** Calls `changed` (debounced by `debounceMs`) after any change in the directories of `file`. */
export function watchConfigDirectory(
  file: string,
  changed: () => void,
  options: { debounceMs?: number; onError?: (error: Error) => void } = {},
): ConfigWatch {
  const path = resolve(file);
  const debounce = options.debounceMs ?? 200;
  const watchers = new Map<string, FSWatcher>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const fire = () => {
    if (closed) return;
    follow();
    clearTimeout(timer);
    timer = setTimeout(changed, debounce);
  };
  const add = (dir: string) => {
    if (watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, fire);
      watcher.on('error', (error) => options.onError?.(error));
      watchers.set(dir, watcher);
    } catch (error) {
      options.onError?.(error as Error);
    }
  };
  /** The directory of what the path resolves to now (a swapped symlink points elsewhere). */
  const follow = () => {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      return; // between a delete and a rename: the next event finds it
    }
    add(dirname(real));
  };
  add(dirname(path));
  follow();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
