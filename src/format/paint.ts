import type chalk from 'chalk';

/** What formatters colour with: a chalk instance the command made for its stream (level 0 off a terminal). */
export type Paint = chalk.Chalk;
