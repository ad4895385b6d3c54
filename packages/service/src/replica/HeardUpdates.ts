/**
 * The version of each provider's token this replica last kept from the
 * provider's updates subject: proof that the token was published. A new
 * leader adopting that very token need not publish it again. The broadcast on
 * adoption is for the leader that committed and died before it published;
 * repeated for every token a failover hands over, it sent thousands of
 * updates that every replica and every subscribed client had already kept,
 * and verified each again.
 */
export class HeardUpdates {
  readonly #versions = new Map<string, number>()

  /** The update of `provider`'s token `version` was kept from the bus. */
  heard(provider: string, version: number): void {
    this.#versions.set(provider, version)
  }

  /** Whether `version` of `provider`'s token was kept from the bus here, so it was published. */
  published(provider: string, version: number): boolean {
    return this.#versions.get(provider) === version
  }
}
