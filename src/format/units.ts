import { formatSize, hex } from '../util/size';

export { formatSize, hex };
