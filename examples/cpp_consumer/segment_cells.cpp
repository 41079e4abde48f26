// segment_cells MODEL IMAGE OUTDIR: segments IMAGE with MODEL through the
// installed fcnrt package, twice: into `fcnrt segment`'s files
// (OUTDIR/STEM_mask.png, STEM_labels.png) and from the decoded image in
// memory, whose labels it checks against the files' and writes as
// OUTDIR/STEM_memory_labels.pgm. Errors are printed as the one line
// fcnrt::Error carries.
#include <fcnrt/fcnrt.h>

#include <cstdio>
#include <fstream>
#include <iostream>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: segment_cells MODEL IMAGE OUTDIR\n";
        return 2;
    }
    try {
        fcnrt::NetworkOptions options;
        options.device = "cpu";
        fcnrt::Network net(argv[1], options);
        std::cerr << "segment_cells: fcnrt " << fcnrt::version() << ", " << net.device() << "\n";

        const std::vector<fcnrt::ImageInput> images = fcnrt::list_images({argv[2]});
        const fcnrt::Segmentation from_file = net.segment_file(images.at(0), argv[3]);

        const fcnrt::DecodedImage image = fcnrt::decode_image(argv[2]);
        fcnrt::SegmentOptions segment;
        segment.max_memory = size_t(1) << 30;
        const fcnrt::Segmentation in_memory = net.segment(image.view(), segment);
        if (in_memory.labels != from_file.labels) {
            std::cerr << "segment_cells: the labels from memory differ from the file's\n";
            return 1;
        }
        const std::string pgm = std::string(argv[3]) + "/" + images[0].stem + "_memory_labels.pgm";
        std::ofstream out(pgm, std::ios::binary);
        out << "P5\n" << in_memory.width << " " << in_memory.height << "\n255\n";
        out.write(reinterpret_cast<const char*>(in_memory.labels.data()),
                  std::streamsize(in_memory.labels.size()));
        if (!out) {
            std::cerr << "segment_cells: cannot write " << pgm << "\n";
            return 1;
        }
        std::cout << images[0].stem << ": " << in_memory.width << "x" << in_memory.height << ", "
                  << in_memory.classes << " classes, " << in_memory.tiles << " tile(s)\n";
        return 0;
    } catch (const fcnrt::Error& e) {
        std::cerr << "segment_cells: error: " << e.what() << "\n";
        return 1;
    }
}
