/**
 * The list of sub-commands. One line per command file; keep it sorted by command name.
 */
import type { Command } from 'commander';
import { register as registerAnalyze } from './analyze.js';
import { register as registerApply } from './apply.js';
import { register as registerDescribe } from './describe.js';
import { register as registerDiscovery } from './discovery.js';
import { register as registerDnsProxy } from './dns-proxy.js';
import { register as registerDown } from './down.js';
import { register as registerExec } from './exec.js';
import { register as registerGet } from './get.js';
import { register as registerInject } from './inject.js';
import { register as registerInstall } from './install.js';
import { register as registerIptables } from './iptables.js';
import { register as registerLogs } from './logs.js';
import { register as registerProxyConfig } from './proxy-config.js';
import { register as registerProxy } from './proxy.js';
import { register as registerUp } from './up.js';
import { register as registerWait } from './wait.js';

export type CommandRegistration = (program: Command) => void;

export const commandRegistrations: CommandRegistration[] = [
  registerAnalyze,
  registerApply,
  registerDescribe,
  registerDiscovery,
  registerDnsProxy,
  registerDown,
  registerExec,
  registerGet,
  registerInject,
  registerInstall,
  registerIptables,
  registerLogs,
  registerProxyConfig,
  registerProxy,
  registerUp,
  registerWait,
];
