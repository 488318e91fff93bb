/**
 * Incoming PUBLISH acknowledgements. QoS 2 messages are tracked by packet id from
 * PUBLISH until PUBREL, so a re-sent PUBLISH (DUP) is acknowledged again but not
 * delivered twice to the application [MQTT-4.3.3-9].
 */
import type { Packet, PublishPacket } from '@hato/protocol';
import { UnexpectedPacketError } from './errors.js';
import type { InFlightStore } from './store.js';

export interface IncomingHost {
  readonly store: InFlightStore | undefined;
  send(packet: Packet): void;
  deliver(packet: PublishPacket): void;
  /** A PUBREL for an id with no QoS 2 message pending (reported; the connection goes on). */
  onUnexpected?(error: Error): void;
}

export class IncomingFlow {
  private readonly qos2 = new Set<number>();

  constructor(private readonly host: IncomingHost) {}

  get size(): number {
    return this.qos2.size;
  }

  onPublish(packet: PublishPacket): void {
    const packetId = packet.packetId!;
    switch (packet.qos) {
      case 0:
        this.host.deliver(packet);
        return;
      case 1:
        this.host.deliver(packet);
        this.host.send({ type: 'puback', packetId }); // [MQTT-4.3.2-4]
        return;
      case 2:
        if (!this.qos2.has(packetId)) {
          this.qos2.add(packetId);
          this.host.store?.putIncoming(packetId);
          this.host.deliver(packet);
        }
        this.host.send({ type: 'pubrec', packetId }); // [MQTT-4.3.3-9]
    }
  }

  onPubrel(packetId: number): void {
    const known = this.qos2.delete(packetId);
    if (known) this.host.store?.deleteIncoming(packetId);
    else this.host.onUnexpected?.(new UnexpectedPacketError('pubrel', packetId, 0x92, 'no QoS 2 PUBLISH with this id'));
    // [MQTT-4.3.3-11] PUBCOMP with the same id; 0x92 when the id was unknown (5.0).
    this.host.send(known ? { type: 'pubcomp', packetId } : { type: 'pubcomp', packetId, reasonCode: 0x92 });
  }

  /** The server did not keep the session: forget released-pending ids. */
  reset(): void {
    for (const id of this.qos2) this.host.store?.deleteIncoming(id);
    this.qos2.clear();
  }

  restore(ids: number[]): void {
    for (const id of ids) this.qos2.add(id);
  }
}
