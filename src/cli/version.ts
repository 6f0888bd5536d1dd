/** kemu's version, as package.json has it. */
export const KEMU_VERSION = '0.1.0';
