import Foundation
import Jobs

/// An image-root policy rooted at the temporary directory, with the default driver allow-list.
public func testPolicy() -> ImageRootPolicy {
    // The temporary directory always exists, so this cannot fail.
    try! ImageRootPolicy(roots: [NSTemporaryDirectory()])
}
