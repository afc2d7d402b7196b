package dev.sentimap.testbed;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.geo.GeoModulePlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Starts one OpenSearch node in this JVM for Sentimap's test bed.
 *
 * <p>The OpenSearch distribution loads its modules from a {@code modules/} folder with one class
 * loader each; here the same module jars come from Maven Central and sit on the class path, so the
 * node is given their plugin classes directly (what {@code Node}'s protected constructor is for).
 * The node binds HTTP and transport to 127.0.0.1 only, runs single-node discovery without the
 * security plugin, and keeps its data under the folder given as {@code --home}.
 *
 * <p>Usage: {@code java -cp 'target/classes:target/lib/*' dev.sentimap.testbed.OpenSearchNode
 * --home DIR --config DIR --http-port N --transport-port N}. It runs until SIGTERM/SIGINT, then closes the node
 * cleanly so the next start finds consistent data.
 */
public final class OpenSearchNode {

    /** The modules the test bed needs; each is an artifact {@code org.opensearch.plugin:<name>}. */
    private static final List<Class<? extends Plugin>> MODULES = List.of(
            Netty4Plugin.class, // transport-netty4-client: the HTTP layer
            CommonAnalysisPlugin.class, // analysis-common
            PainlessPlugin.class, // lang-painless
            GeoModulePlugin.class // geo: geotile_grid, geohash_grid, geo_bounds
    );

    private static final String NODE_NAME = "sentimap-testbed";

    private OpenSearchNode() {}

    /** A node whose plugins come from the class path instead of a plugins folder. */
    private static final class ClasspathNode extends Node {
        ClasspathNode(Environment environment, List<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        Path home = Paths.get(require(options, "home")).toAbsolutePath();
        Path config = Paths.get(require(options, "config")).toAbsolutePath();
        int httpPort = Integer.parseInt(options.getOrDefault("http-port", "9200"));
        int transportPort = Integer.parseInt(options.getOrDefault("transport-port", "9300"));
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));

        Settings settings = Settings.builder()
                .put("cluster.name", NODE_NAME)
                .put("node.name", NODE_NAME)
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("network.host", "127.0.0.1")
                .put("http.port", httpPort)
                .put("transport.port", transportPort)
                .put("discovery.type", "single-node")
                // A nearly full CI disk must not turn test indices read-only.
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();

        // The config folder holds only log4j2.properties (console logging: the test bed script sends
        // this process's output to its log file); the node's settings are all above.
        Environment environment =
                InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config, () -> NODE_NAME);
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(NODE_NAME);
        LogConfigurator.configure(environment);
        Node node = new ClasspathNode(environment, MODULES);

        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                if (!node.awaitClose(20, TimeUnit.SECONDS)) {
                    LogManager.getLogger(OpenSearchNode.class).warn("the node did not close within 20 s");
                }
            } catch (Exception e) {
                LogManager.getLogger(OpenSearchNode.class).error("error while closing the node", e);
            } finally {
                closed.countDown();
            }
        }, NODE_NAME + "-shutdown"));

        node.start();
        LogManager.getLogger(OpenSearchNode.class).info("test bed node ready on http://127.0.0.1:{}", httpPort);
        // The node's own threads are daemons: keep the JVM alive until the shutdown hook ran.
        closed.await();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got: " + String.join(" ", args));
            }
            options.put(arg.substring(2), args[++i]);
        }
        return options;
    }

    private static String require(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return value;
    }
}
