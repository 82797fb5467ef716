import JobModel

/// Which events a subscriber wants: each set, when given, must contain the event's job, job type or name.
public struct EventFilter: Sendable, Equatable {
    public var jobs: Set<String>?
    public var types: Set<JobType>?
    public var events: Set<String>?

    public init(jobs: Set<String>? = nil, types: Set<JobType>? = nil, events: Set<String>? = nil) {
        self.jobs = jobs
        self.types = types
        self.events = events
    }

    public func matches(_ event: JobEvent) -> Bool {
        if let jobs, !jobs.contains(event.job) { return false }
        if let types, !(event.jobType.map(types.contains) ?? false) { return false }
        if let events, !events.contains(event.name) { return false }
        return true
    }
}
