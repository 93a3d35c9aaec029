/**
 * The pgc command tree as commander builds it (with an empty environment, so no default depends
 * on the host): its commands, their options and the variables those options fall back to.
 */
import type { Command, Option } from 'commander';
import { buildProgram } from '../../cli/program.js';

const QUIET_IO = {
  stdout: () => {},
  stderr: () => {},
  stdoutBytes: async () => {},
  stderrBytes: async () => {},
  env: {},
};

/** The pgc command tree as a user gets it with an empty environment. */
export function program(): Command {
  return buildProgram(QUIET_IO);
}

export function findCommand(root: Command, words: readonly string[]): Command {
  let command = root;
  for (const word of words) {
    const next = command.commands.find((c) => c.name() === word);
    if (next === undefined) throw new Error(`pgc has no command "${words.join(' ')}"`);
    command = next;
  }
  return command;
}

/** Options of a command, help and version left out. */
export function commandOptions(command: Command): Option[] {
  return command.options.filter((o) => o.long !== '--help' && o.long !== '--version');
}

interface CommandEnv {
  env: string;
  uses: { command: string; flag: string; description: string }[];
}

/** Every variable a commander option reads, with the commands and flags that read it. */
export function commandEnvVars(root: Command, skip: readonly string[] = []): CommandEnv[] {
  const found = new Map<string, CommandEnv>();
  const walk = (command: Command, words: string[]): void => {
    for (const option of skip.includes(words.join(' ')) ? [] : commandOptions(command)) {
      if (option.envVar === undefined) continue;
      const entry = found.get(option.envVar) ?? { env: option.envVar, uses: [] };
      entry.uses.push({
        command: words.join(' '),
        flag: option.long ?? option.flags,
        description: option.description,
      });
      found.set(option.envVar, entry);
    }
    for (const sub of command.commands) walk(sub, [...words, sub.name()]);
  };
  walk(root, []);
  return [...found.values()].sort((a, b) => (a.env < b.env ? -1 : a.env > b.env ? 1 : 0));
}
