/**
 * The list of sub-commands. One line per command file; keep it sorted by command name.
 */
import type { Command } from 'commander';
import { register as registerAnalyze } from './analyze.js';
import { register as registerIptables } from './iptables.js';
import { register as registerProxy } from './proxy.js';

export type CommandRegistration = (program: Command) => void;

export const commandRegistrations: CommandRegistration[] = [registerAnalyze, registerIptables, registerProxy];
