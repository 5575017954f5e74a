import KafkaProtocol
import Testing

@Suite("Kafka frame splitter")
struct KafkaFrameSplitterTests {
    @Test("frames come out whole, whether fed a byte at a time or several at once")
    func splitsFrames() throws {
        let stream = KafkaFrame.sizePrefixed([1, 2, 3]) + KafkaFrame.sizePrefixed([]) + KafkaFrame.sizePrefixed([9])
        var oneByOne = KafkaFrameSplitter()
        var frames: [[UInt8]] = []
        for byte in stream {
            oneByOne.append([byte])
            while let frame = try oneByOne.nextFrame() { frames.append(frame) }
        }
        #expect(frames == [[1, 2, 3], [], [9]])
        var atOnce = KafkaFrameSplitter()
        atOnce.append(stream)
        #expect(try atOnce.nextFrame() == [1, 2, 3])
        #expect(try atOnce.nextFrame() == [])
        #expect(try atOnce.nextFrame() == [9])
        #expect(try atOnce.nextFrame() == nil)
        var partial = KafkaFrameSplitter()
        partial.append([0, 0, 0, 5, 1, 2])
        #expect(try partial.nextFrame() == nil)
        #expect(partial.bufferedBytes == 6)
    }

    @Test("a frame over the maximum fails as soon as its size arrives, and the splitter stays failed")
    func refusesOversizeFrames() throws {
        #expect(KafkaFrameSplitter().frameBytesMax == 100 * 1024 * 1024)
        var splitter = KafkaFrameSplitter(frameBytesMax: 16)
        splitter.append(KafkaFrame.sizePrefixed(Array(repeating: 7, count: 16)))
        #expect(try splitter.nextFrame()?.count == 16)
        splitter.append([0, 0, 0, 17])
        let error = #expect(throws: KafkaProtocolError.self) { try splitter.nextFrame() }
        #expect(error?.code == .frameTooLarge && error?.byteOffset == 20)
        splitter.append([0, 0, 0, 1, 0])
        #expect(throws: KafkaProtocolError.self) { try splitter.nextFrame() }
        var huge = KafkaFrameSplitter()
        huge.append([0x7F, 0xFF, 0xFF, 0xFF])
        #expect((#expect(throws: KafkaProtocolError.self) { try huge.nextFrame() })?.code == .frameTooLarge)
    }

    @Test("a negative size is an error")
    func refusesNegativeSize() {
        var splitter = KafkaFrameSplitter()
        splitter.append([0xFF, 0xFF, 0xFF, 0xFF])
        let error = #expect(throws: KafkaProtocolError.self) { try splitter.nextFrame() }
        #expect(error?.code == .negativeFrameSize && error?.byteOffset == 0)
    }
}
