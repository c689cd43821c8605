/*
 * Copyright: Vigil maintainers
 * GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
 */
package vigil.engine;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.Version;
import org.opensearch.common.settings.Settings;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.ingest.common.IngestCommonPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.script.mustache.MustachePlugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One single-node OpenSearch for Vigil's tests, embedded in this JVM.
 *
 * <p>The node is built with its modules given as classes on the class path (the way
 * OpenSearch's own test framework starts nodes), so no distribution layout, plugin
 * descriptors or security policy files are needed: ingest-common (grok, dissect, kv,
 * csv, json, date, convert, rename, set, append, remove...), lang-painless (the
 * processors' {@code if} conditions), lang-mustache-client (the {@code {{{field}}}}
 * templates of set/append) and transport-netty4-client (HTTP).
 *
 * <p>Arguments: {@code --home DIR} (required; data and logs go below it),
 * {@code --host 127.0.0.1} (must be a loopback address), {@code --port 0} (0: a free
 * port chosen by the kernel), {@code --url-file FILE} (written once HTTP answers),
 * {@code --watch-stdin} (stop when standard input closes, so a test run that dies
 * leaves no JVM behind).
 */
public final class Engine {

    /** The modules the node loads, as class-path plugins. */
    static final List<Class<? extends Plugin>> MODULES = List.of(
        IngestCommonPlugin.class,
        PainlessPlugin.class,
        MustachePlugin.class,
        Netty4Plugin.class
    );

    private static final long CLOSE_WAIT_SECONDS = 20;

    private Engine() {}

    /** A Node whose plugins are the classes above instead of a plugins/ directory. */
    static final class EmbeddedNode extends Node {
        EmbeddedNode(Settings settings, Collection<Class<? extends Plugin>> modules) {
            super(InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "vigil-engine"), modules, false);
        }
    }

    static final class Options {
        Path home;
        String host = "127.0.0.1";
        String port = "0";
        Path urlFile;
        boolean watchStdin;

        static Options parse(String[] args) {
            Options options = new Options();
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "--home" -> options.home = Path.of(value(args, ++i, arg)).toAbsolutePath();
                    case "--host" -> options.host = value(args, ++i, arg);
                    case "--port" -> options.port = value(args, ++i, arg);
                    case "--url-file" -> options.urlFile = Path.of(value(args, ++i, arg)).toAbsolutePath();
                    case "--watch-stdin" -> options.watchStdin = true;
                    default -> throw new IllegalArgumentException("unknown argument " + arg);
                }
            }
            if (options.home == null) {
                throw new IllegalArgumentException("--home DIR is required");
            }
            if (!options.port.matches("\\d{1,5}") || Integer.parseInt(options.port) > 65535) {
                throw new IllegalArgumentException("--port must be a port number (0: any free port), got " + options.port);
            }
            return options;
        }

        private static String value(String[] args, int index, String name) {
            if (index >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            return args[index];
        }
    }

    static Settings settings(Options options) {
        return Settings.builder()
            .put("path.home", options.home.toString())
            .put("path.data", options.home.resolve("data").toString())
            .put("path.logs", options.home.resolve("logs").toString())
            .put("cluster.name", "vigil-engine")
            .put("node.name", "vigil-engine")
            // loopback only: HTTP on the given port, the transport on any free port
            .put("network.host", options.host)
            .put("http.port", options.port)
            .put("transport.port", "0")
            .put("discovery.type", "single-node")
            // a nearly full disk on a developer's machine must not turn indices read-only
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
    }

    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        Options options;
        try {
            options = Options.parse(args);
            if (!InetAddress.getByName(options.host).isLoopbackAddress()) {
                throw new IllegalArgumentException("--host must be a loopback address, got " + options.host);
            }
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("vigil-engine: " + e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(options.home);
        Node node = new EmbeddedNode(settings(options), MODULES);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(node, stopped), "vigil-engine-stop"));
        node.start();

        HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
        int port = http.boundAddress().publishAddress().getPort();
        String host = options.host.contains(":") ? "[" + options.host + "]" : options.host;
        String url = "http://" + host + ":" + port;
        if (options.urlFile != null) {
            Path temporary = options.urlFile.resolveSibling(options.urlFile.getFileName() + ".tmp");
            Files.writeString(temporary, url + "\n", StandardCharsets.UTF_8);
            Files.move(temporary, options.urlFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        System.out.printf("vigil-engine: OpenSearch %s (modules: ingest-common, lang-painless, lang-mustache-client, "
            + "transport-netty4-client) listening at %s, started in %.1f s%n",
            Version.CURRENT, url, (System.nanoTime() - started) / 1e9);
        System.out.flush();

        if (options.watchStdin) {
            drain(System.in);
            System.out.println("vigil-engine: standard input closed, stopping");
            System.exit(0);
        }
        stopped.await();
    }

    private static void drain(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // nothing to read: the parent only keeps the pipe open while it needs the engine
            }
        } catch (IOException e) {
            // a broken pipe means the same as end of file
        }
    }

    private static void stop(Node node, CountDownLatch stopped) {
        long begin = System.nanoTime();
        try {
            node.close();
            if (!node.awaitClose(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                System.err.println("vigil-engine: node did not close within " + CLOSE_WAIT_SECONDS + " s");
            }
        } catch (IOException | InterruptedException e) {
            System.err.println("vigil-engine: error while stopping: " + e);
        } finally {
            System.out.printf("vigil-engine: stopped in %.1f s%n", (System.nanoTime() - begin) / 1e9);
            System.out.flush();
            stopped.countDown();
        }
    }
}
