/**
 * Loads the Lua scripts of scripts/ and registers them on an ioredis connection.
 *
 * A script file is `<operation>-<number of keys>.lua` (`-n`: variable, the caller's key list
 * decides). `--- @include "name"` lines inline scripts/includes/<name>.lua, once per script, so
 * shared Lua (the store clock, the position reply) is written once. Commands are registered as
 * `wr_<operation>_v<SCRIPT_VERSION>`: bump the version when a script's keys, arguments or reply
 * change, so two releases running side by side never call each other's script.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export const SCRIPT_VERSION = 6;

const SCRIPT_DIR = new URL('./scripts/', import.meta.url);
const INCLUDE_LINE = /^--- @include "([a-z0-9-]+)"[ \t]*$/gm;

/** Store method name -> script file (without `.lua`). */
const SCRIPT_FILES = {
  createQueue: 'create-queue-1',
  updateQueue: 'update-queue-2',
  enqueue: 'enqueue-12',
  pruneIpLimits: 'prune-ip-limits-n',
  getPosition: 'get-position-5',
  heartbeat: 'heartbeat-6',
  leave: 'leave-4',
  attach: 'attach-5',
  detach: 'detach-3',
  renewNodeLease: 'renew-node-lease-1',
  releaseNode: 'release-node-1',
  ranks: 'ranks-2',
  admit: 'admit-7',
  sweep: 'sweep-n',
  getSession: 'get-session-1',
  touchSession: 'touch-session-2',
  endSession: 'end-session-2',
  stats: 'stats-5',
  recordHistory: 'record-history-5',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

/** Runs one script; the raw reply is parsed by the store method that owns the script. */
export type ScriptCall = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

export type StoreScripts = Record<ScriptName, ScriptCall>;

interface ScriptSource {
  command: string;
  /** null: variable, passed with every call */
  numberOfKeys: number | null;
  lua: string;
}

/** Inlines includes (nested ones too), each at most once. */
function resolveIncludes(source: string, seen: Set<string>): string {
  return source.replace(INCLUDE_LINE, (_line, name: string) => {
    if (seen.has(name)) return `-- (${name} already included)`;
    seen.add(name);
    const body = readFileSync(new URL(`includes/${name}.lua`, SCRIPT_DIR), 'utf8');
    return resolveIncludes(body, seen).trimEnd();
  });
}

function readScript(file: string): ScriptSource {
  const match = /^(.+)-(\d+|n)$/.exec(file);
  if (!match?.[1] || !match[2]) throw new Error(`script file name without key count: ${file}`);
  const lua = resolveIncludes(readFileSync(new URL(`${file}.lua`, SCRIPT_DIR), 'utf8'), new Set());
  return {
    command: `wr_${match[1].replaceAll('-', '_')}_v${SCRIPT_VERSION}`,
    numberOfKeys: match[2] === 'n' ? null : Number(match[2]),
    lua,
  };
}

let sources: Map<ScriptName, ScriptSource> | undefined;

/** The script sources, read once per process (exported for inspection in tests and tools). */
export function scriptSources(): ReadonlyMap<ScriptName, ScriptSource> {
  sources ??= new Map(
    (Object.entries(SCRIPT_FILES) as [ScriptName, string][]).map(([name, file]) => [name, readScript(file)]),
  );
  return sources;
}

type DefinedCommand = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers every script on `redis` (ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT)
 * and returns one call per script. A call with the wrong number of keys throws before it
 * reaches the store: keys are built by position, so a miscount would silently shift them.
 */
export function registerScripts(redis: Redis): StoreScripts {
  const calls = {} as StoreScripts;
  for (const [name, source] of scriptSources()) {
    redis.defineCommand(source.command, {
      lua: source.lua,
      ...(source.numberOfKeys === null ? {} : { numberOfKeys: source.numberOfKeys }),
    });
    const command = (redis as unknown as Record<string, DefinedCommand>)[source.command];
    if (!command) throw new Error(`ioredis did not define ${source.command}`);
    const run = command.bind(redis);
    calls[name] = async (keys, args) => {
      if (source.numberOfKeys === null) return run(keys.length, ...keys, ...args);
      if (keys.length !== source.numberOfKeys) {
        throw new Error(`${source.command} takes ${source.numberOfKeys} keys, got ${keys.length}`);
      }
      return run(...keys, ...args);
    };
  }
  return calls;
}
