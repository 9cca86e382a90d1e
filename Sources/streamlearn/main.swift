import Foundation
import StreamLearn

exit(StreamLearnCLI.main(Array(CommandLine.arguments.dropFirst())))
