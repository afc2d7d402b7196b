// Java runner: the vectors through the plain core module with Chicory (pure-Java WebAssembly).
// Run (see scripts/test.d/30-wasm.sh):
//   mvn -q dependency:build-classpath -Dmdep.outputFile=cp.txt && java -cp "$(cat cp.txt)" VectorsRunner.java
import com.dylibso.chicory.runtime.ExportFunction;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.Parser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

public class VectorsRunner {
    /**
     * One instance of the plain module, driven through its ABI (core/abi/README.md): call() with
     * alloc/process/dealloc (version 1), callBuffered() with the module's buffers (version 2).
     */
    static final class Core {
        final Memory memory;
        final ExportFunction alloc, dealloc, process, requestBuffer, processBuffer;
        int buffer = 0, cap = 0;

        Core(Path module) throws Exception {
            Instance instance = Instance.builder(Parser.parse(module)).build();
            memory = instance.memory();
            alloc = instance.export("alloc");
            dealloc = instance.export("dealloc");
            process = instance.export("process");
            requestBuffer = instance.export("request_buffer");
            processBuffer = instance.export("process_buffer");
            long version = instance.export("abi_version").apply()[0];
            if (version != 3) throw new IllegalStateException("ABI version " + version);
        }

        byte[] call(byte[] request) {
            int len = request.length;
            int ptr = (int) alloc.apply(len)[0];
            if (ptr == 0 && len > 0) throw new IllegalStateException("alloc failed");
            memory.write(ptr, request);
            long packed = process.apply(ptr, len)[0];
            dealloc.apply(ptr, len);
            int outPtr = (int) (packed >>> 32), outLen = (int) (packed & 0xffffffffL);
            byte[] out = memory.readBytes(outPtr, outLen);
            dealloc.apply(outPtr, outLen);
            return out;
        }

        byte[] callBuffered(byte[] request) {
            int len = request.length;
            if (buffer == 0 || len > cap) {
                cap = Math.max(len, 64 * 1024);
                buffer = (int) requestBuffer.apply(cap)[0];
                if (buffer == 0) throw new IllegalStateException("request_buffer failed");
            }
            memory.write(buffer, request);
            long packed = processBuffer.apply(len)[0];
            int outPtr = (int) (packed >>> 32), outLen = (int) (packed & 0xffffffffL);
            return memory.readBytes(outPtr, outLen); // a copy: the buffer is the module's
        }
    }

    static byte[] request(JsonNode c) {
        if (c.has("req")) return c.get("req").asText().getBytes(StandardCharsets.UTF_8);
        if (c.has("req_b64")) return Base64.getDecoder().decode(c.get("req_b64").asText());
        JsonNode r = c.get("req_recipe");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(r.get("prefix").asText().getBytes(StandardCharsets.UTF_8));
        byte[] unit = r.get("repeat").asText().getBytes(StandardCharsets.UTF_8);
        for (int i = 0, n = r.get("times").asInt(); i < n; i++) out.writeBytes(unit);
        out.writeBytes(r.get("suffix").asText().getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    static String mismatch(JsonNode c, byte[] got) throws Exception {
        String name = c.get("name").asText();
        if (c.has("want")) {
            byte[] want = c.get("want").asText().getBytes(StandardCharsets.UTF_8);
            if (Arrays.equals(want, got)) return null;
            return "case " + name + ":\n  want " + c.get("want").asText()
                    + "\n  got  " + new String(got, StandardCharsets.UTF_8);
        }
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(got));
        if (digest.equals(c.get("want_sha256").asText()) && got.length == c.get("want_len").asInt()) return null;
        return "case " + name + ": want sha256 " + c.get("want_sha256").asText() + ", got " + digest;
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).resolve("../../..").normalize();
        String env = System.getenv("SENTIMAP_WASM_MODULE");
        Path module = env != null ? Path.of(env) : root.resolve("target/wasm/sentimap_core_abi.wasm");
        if (!Files.exists(module)) {
            System.err.println("missing " + module + ": build it first with scripts/build-wasm");
            System.exit(1);
        }
        JsonNode vectors = new ObjectMapper().readTree(root.resolve("tests/vectors/vectors.json").toFile());
        Core core = new Core(module);
        List<String> failures = new ArrayList<>();
        int n = 0;
        for (JsonNode c : vectors.get("cases")) {
            n++;
            byte[] req = request(c);
            String m = mismatch(c, core.call(req));
            if (m != null) failures.add(m);
            m = mismatch(c, core.callBuffered(req));
            if (m != null) failures.add("(module buffers) " + m);
        }
        failures.forEach(System.err::println);
        System.out.println("java (chicory): " + (2 * n - failures.size()) + "/" + 2 * n
                + " calls match (each vector through alloc/process and the module's buffers)");
        System.exit(failures.isEmpty() && n == vectors.get("count").asInt() ? 0 : 1);
    }
}
