package dev.sentimap.testbed;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Starts one search node in this JVM for Sentimap's test bed: OpenSearch 2 (the test bed's node), or one
 * of the older lines the project supports (OpenSearch 1, Elasticsearch 7) for the compatibility tests.
 *
 * <p>A distribution loads its modules from a {@code modules/} folder with one class loader each; here the
 * same module jars come from Maven Central and sit on the class path, so the node is given their plugin
 * classes directly (what {@code Node}'s protected constructor is for). The engines share these classes and
 * methods, under their own package ({@code org.opensearch} or {@code org.elasticsearch}): the build's
 * {@code sentimap-engine.properties} names the package and the module classes, and the launcher reaches
 * them by reflection, so one source serves every engine. The node binds HTTP and transport to 127.0.0.1
 * only, runs single-node discovery without any security plugin, and keeps its data under {@code --home}.
 *
 * <p>Usage: {@code java -cp 'target/ENGINE/classes:target/ENGINE/lib/*' dev.sentimap.testbed.SearchNode
 * --home DIR --config DIR --http-port N --transport-port N}. It runs until SIGTERM/SIGINT, then closes the
 * node cleanly so the next start finds consistent data.
 */
public final class SearchNode {

    private static final String NODE_NAME = "sentimap-testbed";

    private SearchNode() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        Path home = Paths.get(require(options, "home")).toAbsolutePath();
        Path config = Paths.get(require(options, "config")).toAbsolutePath();
        String httpPort = options.getOrDefault("http-port", "9200");
        String transportPort = options.getOrDefault("transport-port", "9300");
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));

        Properties engine = new Properties();
        try (InputStream in = SearchNode.class.getResourceAsStream("/sentimap-engine.properties")) {
            if (in == null) {
                throw new IllegalStateException("sentimap-engine.properties is missing: build with `mvn -P ENGINE package`");
            }
            engine.load(in);
        }
        String pkg = engine.getProperty("package");

        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("cluster.name", NODE_NAME);
        settings.put("node.name", NODE_NAME);
        settings.put("path.home", home.toString());
        settings.put("path.data", home.resolve("data").toString());
        settings.put("path.logs", home.resolve("logs").toString());
        settings.put("network.host", "127.0.0.1");
        settings.put("http.port", httpPort);
        settings.put("transport.port", transportPort);
        settings.put("discovery.type", "single-node");
        // A nearly full CI disk must not turn test indices read-only.
        settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");

        Object node;
        Class<?> nodeClass = Class.forName(pkg + ".node.Node");
        try {
            Class<?> logConfigurator = Class.forName(pkg + ".common.logging.LogConfigurator");
            // Elasticsearch 8 logs through its own logging API, which must be bound before anything logs;
            // the other engines have no such step.
            try {
                logConfigurator.getMethod("configureESLogging").invoke(null);
            } catch (NoSuchMethodException e) {
                // OpenSearch, Elasticsearch 7.
            }
            // The config folder holds only log4j2.properties (console logging: the test bed script sends
            // this process's output to its log file); the node's settings are all above.
            Class<?> environmentClass = Class.forName(pkg + ".env.Environment");
            Object environment = Class.forName(pkg + ".node.InternalSettingsPreparer")
                    .getMethod("prepareEnvironment", Class.forName(pkg + ".common.settings.Settings"), Map.class,
                            Path.class, Supplier.class)
                    .invoke(null, settings(pkg, settings), Map.of(), config, (Supplier<String>) () -> NODE_NAME);
            logConfigurator.getMethod("registerErrorListener").invoke(null);
            logConfigurator.getMethod("setNodeName", String.class).invoke(null, NODE_NAME);
            try {
                logConfigurator.getMethod("configure", environmentClass).invoke(null, environment);
            } catch (NoSuchMethodException e) {
                // Elasticsearch 8: configure(environment, useConsole).
                logConfigurator.getMethod("configure", environmentClass, boolean.class).invoke(null, environment, true);
            }

            if (engine.getProperty("plugins").equals("modules")) {
                node = nodeFromModuleFolders(pkg, nodeClass, environmentClass, environment);
            } else {
                List<Class<?>> plugins = new ArrayList<>();
                for (String name : engine.getProperty("plugins").split(",")) {
                    plugins.add(Class.forName(name.trim()));
                }
                Constructor<?> constructor =
                        nodeClass.getDeclaredConstructor(environmentClass, Collection.class, boolean.class);
                constructor.setAccessible(true);
                node = constructor.newInstance(environment, plugins, true);
            }
        } catch (InvocationTargetException e) {
            throw failed(e.getCause());
        }

        CountDownLatch closed = new CountDownLatch(1);
        Object started = node;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                nodeClass.getMethod("close").invoke(started);
                boolean done = (boolean) nodeClass.getMethod("awaitClose", long.class, TimeUnit.class)
                        .invoke(started, 20L, TimeUnit.SECONDS);
                if (!done) {
                    LogManager.getLogger(SearchNode.class).warn("the node did not close within 20 s");
                }
            } catch (Exception e) {
                LogManager.getLogger(SearchNode.class).error("error while closing the node", e);
            } finally {
                closed.countDown();
            }
        }, NODE_NAME + "-shutdown"));

        try {
            nodeClass.getMethod("start").invoke(node);
        } catch (InvocationTargetException e) {
            throw failed(e.getCause());
        }
        LogManager.getLogger(SearchNode.class).info("test bed node ({}) ready on http://127.0.0.1:{}",
                engine.getProperty("engine"), httpPort);
        // The node's own threads are daemons: keep the JVM alive until the shutdown hook ran.
        closed.await();
    }

    /**
     * Elasticsearch 8: the node takes a plugin loader, which loads each module from a folder beside the
     * launcher's classes ({@code target/elasticsearch8/modules/NAME}, filled by Maven) into a module
     * layer of its own, as the distribution does. Each folder gets the descriptor its jar carries.
     */
    private static Object nodeFromModuleFolders(String pkg, Class<?> nodeClass, Class<?> environmentClass,
            Object environment) throws Exception {
        Path classes = Paths.get(SearchNode.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path modules = classes.resolveSibling("modules");
        try (DirectoryStream<Path> folders = Files.newDirectoryStream(modules)) {
            for (Path folder : folders) {
                writeDescriptor(folder);
            }
        }
        Class<?> loaderClass = Class.forName(pkg + ".plugins.PluginsLoader");
        Object bundles = loaderClass.getMethod("loadModulesBundles", Path.class).invoke(null, modules);
        // withServerExports = true: the server's qualified exports are opened to the module layers.
        Object loader = loaderClass.getMethod("createPluginsLoader", Set.class, Set.class, Map.class, boolean.class)
                .invoke(null, bundles, Set.of(), new HashMap<String, Set<String>>(), true);
        return nodeClass.getConstructor(environmentClass, loaderClass).newInstance(environment, loader);
    }

    /** Copies {@code META-INF/es-plugins/NAME/plugin-descriptor.properties} out of the module's jar. */
    private static void writeDescriptor(Path folder) throws IOException {
        Path descriptor = folder.resolve("plugin-descriptor.properties");
        if (Files.exists(descriptor)) {
            return;
        }
        String entry = "META-INF/es-plugins/" + folder.getFileName() + "/plugin-descriptor.properties";
        try (DirectoryStream<Path> jars = Files.newDirectoryStream(folder, "*.jar")) {
            for (Path jar : jars) {
                try (JarFile file = new JarFile(jar.toFile())) {
                    JarEntry found = file.getJarEntry(entry);
                    if (found != null) {
                        try (InputStream in = file.getInputStream(found)) {
                            Files.copy(in, descriptor);
                        }
                        return;
                    }
                }
            }
        }
        throw new IllegalStateException("no jar in " + folder + " holds " + entry);
    }

    /** The engine's {@code Settings} built from {@code values}. */
    private static Object settings(String pkg, Map<String, String> values) throws ReflectiveOperationException {
        Object builder = Class.forName(pkg + ".common.settings.Settings").getMethod("builder").invoke(null);
        Method put = builder.getClass().getMethod("put", String.class, String.class);
        for (Map.Entry<String, String> e : values.entrySet()) {
            put.invoke(builder, e.getKey(), e.getValue());
        }
        return builder.getClass().getMethod("build").invoke(builder);
    }

    /**
     * Logs why the node could not start and exits; scripts/testbed shows the log's last lines, so they
     * end with the reason, not a stack frame.
     */
    private static RuntimeException failed(Throwable e) {
        Logger logger = LogManager.getLogger(SearchNode.class);
        logger.error("test bed node failed to start", e);
        StringBuilder reason = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            reason.append(reason.length() == 0 ? "" : ": ").append(t);
        }
        logger.error("test bed node failed to start: {}", reason);
        System.exit(1);
        return new IllegalStateException(reason.toString());
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
