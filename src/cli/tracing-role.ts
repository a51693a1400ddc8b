import { startTracingFromEnvironment, type ProcessRole } from '../ops/tracing';

/** The commands that run a long-lived process role, and that role's traces' service name. */
const ROLES: Record<string, ProcessRole> = {
  serve: 'gateway',
  'risk consume': 'consumer',
  'risk replay': 'replay',
  'archive replay': 'replay',
  'worker billing': 'billing-worker',
  'worker archive': 'archiver',
  feed: 'feed',
};

/**
 * Starts tracing for the command in `argv` when it runs a process role (admin commands are not
 * traced). Runs before the CLI's modules load, so the instrumentations see them load.
 */
export function startTracingForCommand(argv: string[]): boolean {
  const [first = '', second = ''] = argv.slice(2);
  const role = ROLES[`${first} ${second}`] ?? ROLES[first];
  return role ? startTracingFromEnvironment(role) : false;
}
