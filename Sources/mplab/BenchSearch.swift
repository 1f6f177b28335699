// The search for the highest rate with under 1% loss: double the rate from a start until a
// trial fails, then bisect between the highest pass and the lowest failure until they are
// within 10% of each other, all within a fixed number of trials. A failed trial is run a
// second time before it counts: the machine is shared, and one disturbed trial should not
// end the search (the reference gets the same second chance).
struct BenchSearchSettings {
    var startRate: Int
    var maximumRate: Int
    /// Trials per search at most, repeats included.
    var maximumTrials: Int
    /// Bisect until the lowest failure is within this factor of the highest pass.
    static let precision = 1.1
    /// Below this rate a search gives up: something is broken, not slow.
    static let minimumRate = 100
}

struct BenchSearchResult {
    /// The trial at the highest rate that passed; nil when none did.
    let best: BenchTrial?
    /// The lowest rate that failed twice; nil when the maximum rate passed.
    let lowestFailure: Int?
    let trials: [BenchTrial]

    var bestRate: Int { best?.rate ?? 0 }
}

struct BenchSearch {
    let settings: BenchSearchSettings
    let runner: BenchTrialRunner
    /// Called after each trial, for progress lines.
    let progress: (BenchTrial) -> Void

    func run(_ topology: BenchTopology, size: Int) throws -> BenchSearchResult {
        var trials: [BenchTrial] = []
        var best: BenchTrial?
        var lowestFailure: Int?
        var rate = settings.startRate
        while trials.count < settings.maximumTrials {
            var trial = try runner.run(topology, rate: rate, size: size)
            trials.append(trial)
            progress(trial)
            if !trial.passed && trials.count < settings.maximumTrials {
                trial = try runner.run(topology, rate: rate, size: size)
                trials.append(trial)
                progress(trial)
            }
            if trial.passed { best = trial } else { lowestFailure = rate }
            guard let next = nextRate(best: best?.rate, lowestFailure: lowestFailure) else { break }
            rate = next
        }
        return BenchSearchResult(best: best, lowestFailure: lowestFailure, trials: trials)
    }

    /// The next rate to try, or nil when the search is done.
    private func nextRate(best: Int?, lowestFailure: Int?) -> Int? {
        switch (best, lowestFailure) {
        case (let pass?, nil):
            return pass >= settings.maximumRate ? nil : min(pass * 2, settings.maximumRate)
        case (nil, let failure?):
            return failure / 2 >= BenchSearchSettings.minimumRate ? failure / 2 : nil
        case (let pass?, let failure?):
            return Double(failure) <= Double(pass) * BenchSearchSettings.precision ? nil : (pass + failure) / 2
        case (nil, nil):
            return settings.startRate
        }
    }
}
