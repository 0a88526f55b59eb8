/**
 * Config paths back to where they are written in the YAML source (line and column), for error
 * messages an editor can jump to.
 */
import { EVENT_ID, type Event, getScalarValue, parseEvents, SCALAR_STYLE } from 'js-yaml';
import { type LineColumn, lineStarts as lineStartsOf, positionAt } from '../core/line-column.ts';
import { type ConfigPath, formatPath } from './interpolate.ts';

/** 1-based, as editors and `file:line:column` links expect. */
export type SourcePosition = LineColumn;

export type Locator = (path: ConfigPath) => SourcePosition | undefined;

/**
 * Maps config paths (as reported by validation) back to where they are written in the YAML source.
 * Mapping entries point at their key, sequence items at the item, missing paths at the nearest ancestor.
 */
export function createLocator(source: string): Locator {
  let events: Event[];
  try {
    events = parseEvents(source, {});
  } catch {
    // The loader reports the syntax error itself; positions are only a nicety on top.
    return () => undefined;
  }
  const offsets = indexOffsets(source, events);
  const lineStarts = computeLineStarts(source);
  return (path) => {
    for (let length = path.length; length >= 0; length--) {
      const offset = offsets.get(formatPath(path.slice(0, length)));
      if (offset !== undefined) return positionAt(lineStarts, offset);
    }
    return undefined;
  };
}

/** One pass over the first document's events: formatted path → offset. */
function indexOffsets(source: string, events: Event[]): Map<string, number> {
  const offsets = new Map<string, number>([[formatPath([]), 0]]);
  // The loader accepts a single document; events[0] is its DOCUMENT event.
  let i = 1;
  const record = (path: ConfigPath | undefined, offset: number) => {
    if (path === undefined || offset < 0) return;
    const key = formatPath(path);
    // js-yaml rejects duplicate keys anyway; keep the first so the answer is stable.
    if (!offsets.has(key)) offsets.set(key, offset);
  };
  // Consumes the node starting at events[i]. `path` is undefined inside complex keys, which
  // cannot appear in a config path.
  const walk = (path: ConfigPath | undefined): void => {
    const event = events[i++];
    if (event === undefined) return;
    if (event.type === EVENT_ID.MAPPING) {
      while (i < events.length && events[i].type !== EVENT_ID.POP) {
        const keyEvent = events[i];
        const key = keyEvent.type === EVENT_ID.SCALAR ? getScalarValue(source, keyEvent) : undefined;
        walk(undefined);
        const child = path && key !== undefined ? [...path, key] : undefined;
        record(child, nodeStart(keyEvent));
        walk(child);
      }
      i++;
    } else if (event.type === EVENT_ID.SEQUENCE) {
      for (let index = 0; i < events.length && events[i].type !== EVENT_ID.POP; index++) {
        const child = path && [...path, index];
        record(child, nodeStart(events[i]));
        walk(child);
      }
      i++;
    }
    // Scalars and aliases are leaves: a path below an alias falls back to the alias itself.
  };
  if (events[0]?.type === EVENT_ID.DOCUMENT) walk([]);
  return offsets;
}

/** Where a node is written, including its `&anchor` and `!tag`, which may precede it. */
function nodeStart(event: Event): number {
  let content: number;
  switch (event.type) {
    case EVENT_ID.SCALAR: {
      const quoted = event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED;
      // Quoted scalars' value range excludes the opening quote; an empty plain scalar has none (-1).
      content = quoted && event.valueStart > 0 ? event.valueStart - 1 : event.valueStart;
      break;
    }
    case EVENT_ID.MAPPING:
    case EVENT_ID.SEQUENCE:
      content = event.start;
      break;
    case EVENT_ID.ALIAS:
      // Anchor ranges exclude the `*` / `&` sigil (tag ranges do include the `!`).
      return event.anchorStart - 1;
    default:
      return -1;
  }
  const anchor = event.anchorStart >= 0 ? event.anchorStart - 1 : -1;
  const starts = [anchor, event.tagStart, content].filter((offset) => offset >= 0);
  return starts.length > 0 ? Math.min(...starts) : -1;
}

function computeLineStarts(source: string): number[] {
  const starts = lineStartsOf(source);
  // Offsets count a leading BOM, editors do not.
  if (source.charCodeAt(0) === 0xfeff) starts[0] = 1;
  return starts;
}
