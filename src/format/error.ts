import { doc } from './contract';

/** What kind of failure: the error's class (usage, fit, check, state, io, lock), or internal. */
export function errorCode(name: string): string {
  return name.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase() || 'error';
}

/** The document the json option prints on stdout when a command fails (beside the one line on stderr). */
export function errorJson(code: string, exitCode: number, message: string, hint: string | null): object {
  return doc('error', { error: { code, exitCode, message, hint } });
}
