import Foundation

/// Weight of evidence and information value of one feature's bins, FATE 1.x's formulas
/// (`federatedml.feature.binning.iv_calculator`): with E and NE the totals of events and non-events
/// (a total of 0 replaced by 1), a bin with zero events or zero non-events gets 0.5 added to both of
/// its counts; rate_e = e/E, rate_ne = ne/NE; WOE = ln(rate_e / rate_ne); IV = Σ (rate_e − rate_ne)·WOE.
public struct WOEIV: Sendable, Equatable {
    public var woe: [Double]
    public var ivPerBin: [Double]
    public var iv: Double

    public static let adjustment = 0.5

    public init(events: [Int], nonEvents: [Int]) {
        precondition(events.count == nonEvents.count)
        let totalEvents = Double(max(events.reduce(0, +), 0) == 0 ? 1 : events.reduce(0, +))
        let totalNonEvents = Double(nonEvents.reduce(0, +) == 0 ? 1 : nonEvents.reduce(0, +))
        var woe: [Double] = [], ivs: [Double] = []
        for (e, ne) in zip(events, nonEvents) {
            var (eventCount, nonEventCount) = (Double(e), Double(ne))
            if e == 0 || ne == 0 { eventCount += Self.adjustment; nonEventCount += Self.adjustment }
            let eventRate = eventCount / totalEvents, nonEventRate = nonEventCount / totalNonEvents
            let w = log(eventRate / nonEventRate)
            woe.append(w)
            ivs.append((eventRate - nonEventRate) * w)
        }
        self.woe = woe
        ivPerBin = ivs
        iv = ivs.reduce(0, +)
    }
}

/// The result table of a WOE/IV job (`arcactl job result ID`), sorted by IV, highest first.
public struct IVReport: Codable, Sendable, Equatable {
    public struct Bin: Codable, Sendable, Equatable {
        public var events: Int
        public var nonEvents: Int
        public var woe: Double
        public init(events: Int, nonEvents: Int, woe: Double) {
            self.events = events; self.nonEvents = nonEvents; self.woe = woe
        }
    }
    public struct Feature: Codable, Sendable, Equatable {
        /// `guest` or `host`.
        public var party: String
        public var feature: String
        public var iv: Double
        public var bins: [Bin]
        public init(party: String, feature: String, iv: Double, bins: [Bin]) {
            self.party = party; self.feature = feature; self.iv = iv; self.bins = bins
        }
    }
    public var intersectionSize: Int
    public var features: [Feature]

    public init(intersectionSize: Int, features: [Feature]) {
        self.intersectionSize = intersectionSize
        self.features = features.sorted {
            $0.iv != $1.iv ? $0.iv > $1.iv : ($0.party, $0.feature) < ($1.party, $1.feature)
        }
    }

    /// One feature's row from its per-bin counts.
    public static func feature(party: String, name: String, events: [Int], nonEvents: [Int]) -> Feature {
        let result = WOEIV(events: events, nonEvents: nonEvents)
        return Feature(
            party: party, feature: name, iv: result.iv,
            bins: zip(zip(events, nonEvents), result.woe).map { Bin(events: $0.0, nonEvents: $0.1, woe: $1) })
    }
}
