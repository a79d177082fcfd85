#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A folder of images with one subfolder per class, listed as torchvision's
/// `datasets.ImageFolder` lists it (`find_classes` + `make_dataset`):
///
/// - classes are the names of the folder's subfolders (symbolic links to folders count),
///   sorted by Unicode code point as Python sorts strings; class index = position;
/// - inside each class folder, every folder below it is walked (symbolic links followed,
///   `os.walk(followlinks=True)`), the folders in order of their paths, each folder's files
///   in order of their names (code points); a file is an image when its name ends in
///   `.png`, `.jpg` or `.jpeg`, case-insensitive (``extensions``); other files are skipped
///   and counted (``skippedFiles``), as are files beside the class folders;
/// - a class folder without an image is an error, as in torchvision.
///
/// Beyond torchvision: a symbolic link leading back to a folder it sits in (a loop
/// `os.walk` would follow until the path is too long) is an error, as is a name that is not
/// UTF-8 (class names are text in checkpoints; torchvision takes such names in Python's
/// surrogate escapes), and fewer than two classes.
public struct ImageFolder: Sendable, Equatable {
    /// One image file and its class.
    public struct Sample: Sendable, Equatable {
        /// The file's path: ``root`` + "/" + class + "/" + any subfolders + "/" + name.
        public var path: String
        /// The class index: the class folder's position in ``ImageFolder/classNames``.
        public var label: Int32
    }

    /// The accepted file name endings, lower case (compared case-insensitively).
    public static let extensions = [".png", ".jpg", ".jpeg"]

    /// The folder scanned, as given.
    public let root: String
    /// The class names, index = label.
    public let classNames: [String]
    /// Every image in torchvision's order: class by class, walked as described above.
    public let samples: [Sample]
    /// Files that are not images (by name), inside the class folders or beside them.
    public let skippedFiles: Int
    /// The first few skipped files' paths, for the line that counts them.
    public let skippedExamples: [String]

    /// The line to print when files were skipped, nil when none were: "skipped 3 files in
    /// DIR that are not .png/.jpg/.jpeg (e.g. DIR/cat/notes.txt, …)".
    public var skippedNote: String? { Self.skippedNote(in: root, count: skippedFiles, examples: skippedExamples) }

    /// The one line counting `count` skipped files under `root`, nil for none.
    static func skippedNote(in root: String, count: Int, examples: [String]) -> String? {
        guard count > 0 else { return nil }
        let more = count > examples.count ? ", …" : ""
        return "note: skipped \(count) file\(count == 1 ? "" : "s") in \(root) that \(count == 1 ? "is" : "are") not \(extensionList) (e.g. \(examples.joined(separator: ", "))\(more))"
    }

    /// ".png/.jpg/.jpeg".
    static var extensionList: String { extensions.joined(separator: "/") }

    /// Whether a file name has an accepted ending (case-insensitive).
    public static func isImageName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return extensions.contains { lower.hasSuffix($0) }
    }

    /// Lists `root`'s classes and images.
    /// - Throws: ``ImageFolderError``: the folder missing or unreadable, no or one class
    ///   folder, an empty class folder, a symbolic-link loop, a name that is not UTF-8.
    public static func scan(_ root: String) throws(ImageFolderError) -> ImageFolder {
        var walker = FolderWalker()
        let top = try walker.list(root, isRoot: true)
        let classes = top.folders.sorted { $0.name.unicodeScalars.lexicographicallyPrecedes($1.name.unicodeScalars) }
        walker.noteSkipped(top.files.map { join(root, $0) })
        guard classes.count >= 2 else {
            throw classes.isEmpty ? .noClassFolders(path: root) : .oneClass(path: root, className: classes[0].name)
        }
        var samples: [Sample] = []
        var empty: [String] = []
        for (label, folder) in classes.enumerated() {
            let before = samples.count
            for path in try walker.files(under: join(root, folder.name), identity: folder.identity, ancestors: [top.identity]) {
                samples.append(Sample(path: path, label: Int32(label)))
            }
            if samples.count == before { empty.append(join(root, folder.name)) }
        }
        if !empty.isEmpty { throw .emptyClassFolders(paths: empty) }
        return ImageFolder(root: root, classNames: classes.map(\.name), samples: samples,
                           skippedFiles: walker.skipped, skippedExamples: walker.skippedExamples)
    }

    /// Every image file under `folder`, as a class folder's images are found (every folder
    /// below walked, links followed, folders in path order, each one's files by name; a
    /// class-major tree comes out class by class).
    /// - Returns: the images' paths, and how many other files were skipped (with a few examples).
    /// - Throws: ``ImageFolderError`` as ``scan(_:)`` (missing or unreadable folder, a loop, a name not UTF-8).
    public static func imageFiles(under folder: String) throws(ImageFolderError) -> (paths: [String], skipped: Int, skippedExamples: [String]) {
        var walker = FolderWalker()
        let top = try walker.list(folder, isRoot: true)
        let paths = try walker.files(under: folder, identity: top.identity, ancestors: [])
        return (paths, walker.skipped, walker.skippedExamples)
    }

    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}

/// A folder's identity on disk (device, inode): the same folder reached through links.
struct FolderIdentity: Hashable {
    var device: UInt64
    var inode: UInt64
}

/// Lists folders with opendir/readdir (names as bytes, so a name that is not UTF-8 is seen
/// as such) and stat (symbolic links followed).
struct FolderWalker {
    struct Listing {
        var identity: FolderIdentity
        var folders: [(name: String, identity: FolderIdentity)]
        var files: [String]
    }

    private(set) var skipped = 0
    private(set) var skippedExamples: [String] = []
    static let exampleCount = 3

    mutating func noteSkipped(_ paths: [String]) {
        skipped += paths.count
        skippedExamples += paths.prefix(max(0, Self.exampleCount - skippedExamples.count))
    }

    /// The image files under `folder` (identity `identity`), in torchvision's order: every
    /// folder below it sorted by path, each one's image names sorted. `ancestors` are the
    /// folders above it, for the loop check.
    mutating func files(under folder: String, identity: FolderIdentity, ancestors: [FolderIdentity]) throws(ImageFolderError) -> [String] {
        var byFolder: [(path: String, names: [String])] = []
        try walk(folder, identity: identity, ancestors: ancestors, into: &byFolder)
        byFolder.sort { $0.path.unicodeScalars.lexicographicallyPrecedes($1.path.unicodeScalars) }
        var images: [String] = []
        for (path, names) in byFolder {
            let sorted = names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            for name in sorted {
                if ImageFolder.isImageName(name) { images.append(ImageFolder.join(path, name)) } else { noteSkipped([ImageFolder.join(path, name)]) }
            }
        }
        return images
    }

    private mutating func walk(_ folder: String, identity: FolderIdentity, ancestors: [FolderIdentity],
                               into byFolder: inout [(path: String, names: [String])]) throws(ImageFolderError) {
        let listing = try list(folder, isRoot: false)
        byFolder.append((folder, listing.files))
        let chain = ancestors + [identity]
        for sub in listing.folders {
            let path = ImageFolder.join(folder, sub.name)
            if chain.contains(sub.identity) { throw .symlinkLoop(path: path) }
            try walk(path, identity: sub.identity, ancestors: chain, into: &byFolder)
        }
    }

    /// The subfolders and files of `folder` (not "." and ".."), following links.
    func list(_ folder: String, isRoot: Bool) throws(ImageFolderError) -> Listing {
        var info = stat()
        guard stat(folder, &info) == 0 else {
            let code = errno
            if code == ELOOP { throw .symlinkLoop(path: folder) }
            if isRoot && code == ENOENT { throw .missingFolder(path: folder) }
            throw .unreadableFolder(path: folder, reason: String(cString: strerror(code)))
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw .notAFolder(path: folder) }
        let identity = FolderIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        guard let handle = opendir(folder) else {
            throw .unreadableFolder(path: folder, reason: String(cString: strerror(errno)))
        }
        defer { closedir(handle) }
        var listing = Listing(identity: identity, folders: [], files: [])
        while let entry = readdir(handle) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if bytes == [0x2E] || bytes == [0x2E, 0x2E] { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw .nameNotUTF8(folder: folder, escapedName: Self.escaped(bytes))
            }
            let path = ImageFolder.join(folder, name)
            var target = stat()
            if stat(path, &target) != 0 {
                // A link whose target is gone is listed as a file (os.walk does), and
                // fails when read; a link that resolves to itself is a loop.
                if errno == ELOOP { throw .symlinkLoop(path: path) }
                listing.files.append(name)
            } else if (target.st_mode & S_IFMT) == S_IFDIR {
                listing.folders.append((name, FolderIdentity(device: UInt64(target.st_dev), inode: UInt64(target.st_ino))))
            } else {
                listing.files.append(name)
            }
        }
        return listing
    }

    /// The name with every byte that is not printable ASCII as \xNN.
    static func escaped(_ bytes: [UInt8]) -> String {
        bytes.map { $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
    }
}

extension String {
    /// The string with "0"s in front up to `width` characters.
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
