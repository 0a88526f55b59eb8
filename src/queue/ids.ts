/**
 * Delivery ids sort by creation time (12 hex digits of milliseconds, then 64 random bits), so
 * listing and paging by id follows arrival order without a separate sequence.
 */
import { randomBytes } from 'node:crypto';

export function newDeliveryId(now: number = Date.now()): string {
  return `${now.toString(16).padStart(12, '0')}${randomBytes(8).toString('hex')}`;
}
