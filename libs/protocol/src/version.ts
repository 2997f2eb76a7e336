/** Reported by every component (drone registry, logs). */
export const VERSION = '0.1.0';
