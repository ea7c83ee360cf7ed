import { Advice, DombuildError, EXIT_FIT } from '../util/errors';

/** The simulated dom0 kernel stopped during early boot (Linux would panic or BUG here). Exit code 1. */
export class GuestBootError extends DombuildError {
  constructor(message: string, advice?: Advice) {
    super(`dom0 kernel: ${message}`, EXIT_FIT, advice);
  }
}
