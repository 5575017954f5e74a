import Testing
import KafkaProtocol
import KafkaServer
@testable import KafkaGateway

@Suite struct ServedVersionsTests {
    /// ApiVersions advertises exactly the routed APIs (and itself), each within the codec's
    /// valid versions (KafkaServedVersions checks that on construction).
    @Test func theTableIsTheRoutes() throws {
        let fixture = try GatewayFixture()
        defer { fixture.close() }
        let advertised = Set(fixture.gateway.servedVersions.ranges.keys)
        #expect(advertised == Set(fixture.gateway.routes.keys).union([.apiVersions]))
    }
}
